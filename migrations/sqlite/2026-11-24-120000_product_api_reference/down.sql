ALTER TABLE products DROP COLUMN openapi_html;
