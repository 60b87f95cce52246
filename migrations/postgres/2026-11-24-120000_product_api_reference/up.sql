-- The product's API reference, rendered to sanitised HTML when the admin saves the
-- OpenAPI document (openapi_json), so the docs page never renders it per view.
ALTER TABLE products ADD COLUMN openapi_html TEXT;
