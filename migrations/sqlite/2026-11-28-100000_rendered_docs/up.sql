-- Product documentation rendered to sanitised HTML when it is saved, so a page view
-- never renders Markdown. NULL until rendered: rows from before this migration are
-- filled in batches by the start-up backfill (jobs::rendered_docs), and the docs page
-- renders such a row off the request threads until then.
ALTER TABLE products ADD COLUMN docs_html TEXT;
