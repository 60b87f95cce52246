//! A product's API reference: an OpenAPI 3.0 or 3.1 document (JSON or YAML, up to
//! 1 MiB) is parsed, checked and rendered once, when an admin saves it, into HTML the
//! docs page shows as is. Everything taken from the document is escaped, and every
//! description is Markdown sanitised by `crate::markdown`, exactly like product docs:
//! each distinct description once, however many rows show it. Compiling is blocking
//! work: callers run it on a blocking thread, before any database work.

mod check;
mod node;
mod render;
mod schema;

pub use check::Version;

/// The largest document accepted.
pub const MAX_BYTES: usize = 1024 * 1024;
/// The largest reference stored (a small document can name big schemas many times).
const MAX_HTML_BYTES: usize = 8 * 1024 * 1024;

/// A checked document, ready to store.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The document as JSON, in the author's key order (YAML is converted).
    pub json: String,
    /// The rendered, sanitised reference.
    pub html: String,
    pub title: String,
    pub api_version: String,
    pub openapi_version: String,
    pub operations: usize,
}

/// Parses, checks and renders a document; on failure, every problem found, each one
/// saying where it is.
pub fn compile(raw: &str) -> Result<Compiled, Vec<String>> {
    if raw.len() > MAX_BYTES {
        return Err(vec![format!(
            "The document is {:.1} MiB; the limit is 1 MiB.",
            raw.len() as f64 / (1024.0 * 1024.0)
        )]);
    }
    let root = node::parse(raw).map_err(|e| vec![e])?;
    check::check(&root)?;
    let openapi_version = root.str_at("openapi").unwrap_or("").to_string();
    let Some((html, operations)) =
        render::render(&root, &openapi_version).filter(|(html, _)| html.len() <= MAX_HTML_BYTES)
    else {
        return Err(vec![
            "The reference would be too large to show: its schemas expand to more than 8 MiB of HTML. Split the API into several products."
                .into(),
        ]);
    };
    let info = root.get("info");
    let json = serde_json::to_string(&root).map_err(|e| vec![e.to_string()])?;
    Ok(Compiled {
        json,
        html,
        title: info
            .and_then(|i| i.str_at("title"))
            .unwrap_or("")
            .to_string(),
        api_version: info
            .and_then(|i| i.get("version"))
            .map(node::Node::literal)
            .unwrap_or_default(),
        openapi_version,
        operations,
    })
}

/// One line about a stored document (`openapi_json`): "Pets 2.0 · OpenAPI 3.1.0 · 12
/// operations".
pub fn summary(json: &str) -> Option<String> {
    let root: node::Node = serde_json::from_str(json).ok()?;
    let info = root.get("info")?;
    let operations: usize = root
        .get("paths")
        .and_then(node::Node::as_object)
        .map(|paths| {
            paths
                .values()
                .map(|item| {
                    check::METHODS
                        .iter()
                        .filter(|m| item.get(m).is_some())
                        .count()
                })
                .sum()
        })
        .unwrap_or(0);
    Some(format!(
        "{} {} · OpenAPI {} · {operations} operation{}",
        info.str_at("title").unwrap_or("API"),
        info.get("version")
            .map(node::Node::literal)
            .unwrap_or_default(),
        root.str_at("openapi").unwrap_or(""),
        if operations == 1 { "" } else { "s" }
    ))
}

/// Text for HTML content and attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// A description (CommonMark in OpenAPI), rendered and sanitised; callers go through
/// `schema::Budget::describe`, which renders each distinct text once.
fn describe(text: &str) -> String {
    if text.trim().is_empty() {
        String::new()
    } else {
        format!(
            "<div class=\"api-desc\">{}</div>",
            crate::markdown::render(text)
        )
    }
}

fn notes_html(notes: &str) -> String {
    if notes.is_empty() {
        String::new()
    } else {
        format!("<p class=\"api-note\">{}</p>", esc(notes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PETS_31: &str = r##"
openapi: 3.1.0
info:
  title: Pets
  version: "2.0"
tags:
  - name: pets
    description: Everything about pets
paths:
  /pets/{id}:
    parameters:
      - name: id
        in: path
        required: true
        schema: {type: string, format: uuid}
    get:
      tags: [pets]
      summary: Find a pet
      responses:
        200:
          description: The pet
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
        404: {description: No such pet}
components:
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        name: {type: string, description: "The <b>name</b>"}
        tag: {type: [string, "null"]}
"##;

    #[test]
    fn a_31_yaml_document_renders() {
        let c = compile(PETS_31).unwrap();
        assert_eq!(c.operations, 1);
        assert_eq!(c.title, "Pets");
        assert!(
            c.html
                .contains("<code class=\"api-path\">/pets/{id}</code>")
        );
        assert!(
            c.html.contains(
                "<code>id</code></td><td>path</td><td>string (uuid)</td><td>required</td>"
            ),
            "{}",
            c.html
        );
        assert!(
            c.html
                .contains("<code>tag</code></td><td>string or null</td><td>optional</td>")
        );
        assert!(c.html.contains("<b>name</b>"));
        assert!(c.json.starts_with("{\"openapi\":\"3.1.0\",\"info\""));
    }

    /// A document whose 2,000 operations all return one schema, whose one field has
    /// `description`.
    fn shared_description(description: &str) -> String {
        let paths: serde_json::Map<String, serde_json::Value> = (0..2000)
            .map(|i| {
                let op = serde_json::json!({"get": {"responses": {"200": {
                    "description": "ok",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/S"}}}
                }}}});
                (format!("/p{i}"), op)
            })
            .collect();
        serde_json::json!({
            "openapi": "3.1.0",
            "info": {"title": "Shared", "version": "1"},
            "paths": paths,
            "components": {"schemas": {"S": {"type": "object", "properties": {
                "p": {"type": "string", "description": description}
            }}}}
        })
        .to_string()
    }

    #[test]
    fn a_description_many_rows_share_is_rendered_once() {
        let before = crate::markdown::renders_on_this_thread();
        let c = compile(&shared_description(&"Shared *words*. ".repeat(60))).unwrap();
        assert_eq!(c.operations, 2000);
        assert_eq!(c.html.matches("Shared <em>words</em>.").count(), 2000 * 60);
        // "ok" and the field's description: twice, not 4,000 times.
        assert_eq!(crate::markdown::renders_on_this_thread() - before, 2);
    }

    #[test]
    fn descriptions_past_the_size_limit_stop_rendering_and_refuse_the_document() {
        let before = crate::markdown::renders_on_this_thread();
        // 2,000 rows × 5 KB of description: more than the 8 MiB a reference may hold.
        let e = compile(&shared_description(&"word ".repeat(1000))).unwrap_err();
        assert!(e[0].contains("too large to show"), "{e:?}");
        assert!(crate::markdown::renders_on_this_thread() - before <= 2);
    }

    #[test]
    fn problems_are_named() {
        let e = compile("{\"info\": {}}").unwrap_err();
        assert_eq!(e, ["not an OpenAPI 3.x document: missing `openapi`."]);
        let e =
            compile("openapi: \"2.0\"\ninfo: {title: x, version: '1'}\npaths: {}\n").unwrap_err();
        assert!(e[0].contains("3.0 and 3.1"), "{e:?}");
        let e = compile("openapi: 3.0.3\ninfo: {title: x, version: '1'}\n").unwrap_err();
        assert!(e[0].contains("`paths` is missing"), "{e:?}");
        let e = compile("openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: '#/components/responses/Nope'}\n").unwrap_err();
        assert!(e[0].contains("points at nothing"), "{e:?}");
        assert!(e[0].contains("paths./a.get.responses.200"), "{e:?}");
    }
}
