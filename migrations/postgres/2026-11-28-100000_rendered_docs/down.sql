ALTER TABLE products DROP COLUMN docs_html;
