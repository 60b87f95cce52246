//! JSON Schemas (OpenAPI 3.0's dialect and 3.1's JSON Schema 2020-12) shown as a
//! readable type ("array of Pet", "string (date-time) or null") and a nested field
//! table. Nesting is bounded, `$ref` cycles are shown once and not followed again, and
//! every table and the whole reference have a row budget.

use std::collections::HashMap;

use super::check::pointer;
use super::esc;
use super::node::Node;

/// How deep nested fields are expanded.
const MAX_DEPTH: usize = 6;
/// Rows in one schema table.
const MAX_ROWS_PER_TABLE: usize = 200;
/// How many `$ref` hops one name may take before it is treated as unresolvable.
const MAX_REF_HOPS: usize = 16;

/// What the whole reference may still spend: schema rows, and bytes of rendered
/// descriptions. Each distinct description is rendered once: one a shared schema
/// carries into thousands of rows is Markdown work once, not once per row.
pub struct Budget {
    pub rows_left: usize,
    /// Rendered descriptions by their text.
    described: HashMap<String, String>,
    /// Bytes of description HTML handed out so far.
    description_bytes: usize,
    /// More description HTML was asked for than the reference may hold.
    pub overflowed: bool,
}

impl Budget {
    pub fn new(rows: usize) -> Self {
        Self {
            rows_left: rows,
            described: HashMap::new(),
            description_bytes: 0,
            overflowed: false,
        }
    }

    /// A description (CommonMark in OpenAPI), rendered and sanitised — or nothing
    /// once the reference's descriptions exceed its size limit (`overflowed` says so).
    pub fn describe(&mut self, text: &str) -> String {
        if text.trim().is_empty() || self.overflowed {
            return String::new();
        }
        if !self.described.contains_key(text) {
            self.described
                .insert(text.to_string(), super::describe(text));
        }
        let html = self.described.get(text).cloned().unwrap_or_default();
        self.description_bytes += html.len();
        if self.description_bytes > super::MAX_HTML_BYTES {
            self.overflowed = true;
            return String::new();
        }
        html
    }
}

/// Follows `$ref`s to the schema they name; also returns the first name seen.
pub fn resolve<'a>(root: &'a Node, mut node: &'a Node) -> (&'a Node, Option<&'a str>) {
    let mut name = None;
    for _ in 0..MAX_REF_HOPS {
        match node.str_at("$ref") {
            Some(r) => {
                name = name.or_else(|| Some(ref_name(r)));
                match pointer(root, r) {
                    Some(target) => node = target,
                    None => return (node, name),
                }
            }
            None => return (node, name),
        }
    }
    (node, name)
}

fn ref_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// "string (date-time) or null", "array of Pet", "map of integer", "one of: Cat, Dog".
pub fn type_text(root: &Node, schema: &Node, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return "…".into();
    }
    if let Some(r) = schema.str_at("$ref") {
        if !r.starts_with('#') {
            return format!("external {r}");
        }
        let (target, _) = resolve(root, schema);
        let inner = type_text(root, target, depth + 1);
        let name = ref_name(r);
        return if inner == "object" || inner.is_empty() {
            name.to_string()
        } else {
            format!("{name} ({inner})")
        };
    }
    for (key, word) in [("oneOf", "one of"), ("anyOf", "any of")] {
        if let Some(options) = schema.get(key).and_then(Node::as_array) {
            let names: Vec<String> = options
                .iter()
                .map(|o| type_text(root, o, depth + 1))
                .collect();
            return format!("{word}: {}", names.join(", "));
        }
    }
    if let Some(parts) = schema.get("allOf").and_then(Node::as_array)
        && schema.get("type").is_none()
        && schema.get("properties").is_none()
    {
        if let [only] = parts {
            return type_text(root, only, depth + 1);
        }
        return "object".into();
    }
    let mut types: Vec<String> = match schema.get("type") {
        Some(Node::String(t)) => vec![t.clone()],
        Some(Node::Array(list)) => list
            .iter()
            .filter_map(Node::as_str)
            .map(str::to_string)
            .collect(),
        _ if schema.get("properties").is_some() => vec!["object".into()],
        _ if schema.get("items").is_some() => vec!["array".into()],
        _ => Vec::new(),
    };
    let nullable = schema.bool_at("nullable") || types.iter().any(|t| t == "null");
    types.retain(|t| t != "null");
    let mut words: Vec<String> = types
        .iter()
        .map(|t| match t.as_str() {
            "array" => match schema.get("items") {
                Some(items) => format!("array of {}", type_text(root, items, depth + 1)),
                None => "array".into(),
            },
            "object" => match schema.get("additionalProperties") {
                Some(extra @ Node::Object(_)) if schema.get("properties").is_none() => {
                    format!("map of {}", type_text(root, extra, depth + 1))
                }
                _ => "object".into(),
            },
            other => match schema.str_at("format") {
                Some(f) => format!("{other} ({f})"),
                None => other.to_string(),
            },
        })
        .collect();
    if words.is_empty() {
        words.push("any".into());
    }
    if nullable {
        words.push("null".into());
    }
    words.join(" or ")
}

/// Enum values, defaults and limits, as one line of text.
pub fn notes(schema: &Node) -> String {
    let mut out = Vec::new();
    if let Some(values) = schema.get("enum").and_then(Node::as_array) {
        let shown: Vec<String> = values.iter().take(20).map(Node::literal).collect();
        let more = if values.len() > 20 { ", …" } else { "" };
        out.push(format!("One of: {}{more}.", shown.join(", ")));
    }
    if let Some(c) = schema.get("const") {
        out.push(format!("Always {}.", c.literal()));
    }
    for (key, label) in [
        ("default", "Default"),
        ("minimum", "Minimum"),
        ("maximum", "Maximum"),
        ("minLength", "Minimum length"),
        ("maxLength", "Maximum length"),
        ("minItems", "Minimum items"),
        ("maxItems", "Maximum items"),
        ("pattern", "Pattern"),
        ("example", "Example"),
    ] {
        if let Some(v) = schema.get(key) {
            let mut text = v.literal();
            if text.chars().count() > 120 {
                text = text.chars().take(120).collect::<String>() + "…";
            }
            out.push(format!("{label}: {text}."));
        }
    }
    if schema.bool_at("readOnly") {
        out.push("Read-only (sent in responses only).".into());
    }
    if schema.bool_at("writeOnly") {
        out.push("Write-only (sent in requests only).".into());
    }
    if schema.bool_at("deprecated") {
        out.push("Deprecated.".into());
    }
    out.join(" ")
}

struct Row {
    depth: usize,
    name: String,
    type_text: String,
    required: bool,
    description: String,
    notes: String,
}

struct Walk<'a> {
    root: &'a Node,
    rows: Vec<Row>,
    /// Names of the `$ref`s being expanded, outermost first (cycle guard).
    stack: Vec<&'a str>,
    truncated: bool,
}

impl<'a> Walk<'a> {
    fn full(&mut self, budget: &Budget) -> bool {
        self.rows.len() >= MAX_ROWS_PER_TABLE.min(budget.rows_left)
    }

    /// Properties (with allOf merged), each with whether it is required.
    fn properties(&self, schema: &'a Node, out: &mut Vec<(&'a str, &'a Node, bool)>, hops: usize) {
        if hops > MAX_DEPTH {
            return;
        }
        let (schema, _) = resolve(self.root, schema);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Node::as_array)
            .map(|r| r.iter().filter_map(Node::as_str).collect())
            .unwrap_or_default();
        if let Some(props) = schema.get("properties").and_then(Node::as_object) {
            for (name, prop) in props {
                if !out.iter().any(|(n, _, _)| *n == name.as_str()) {
                    out.push((name, prop, required.contains(&name.as_str())));
                }
            }
        }
        if let Some(parts) = schema.get("allOf").and_then(Node::as_array) {
            for part in parts {
                self.properties(part, out, hops + 1);
            }
        }
    }

    /// The schema whose fields sit under this one: itself, or an array's items.
    fn container(&self, schema: &'a Node) -> (&'a Node, &'static str) {
        let (resolved, _) = resolve(self.root, schema);
        match resolved.get("items") {
            Some(items) if resolved.get("properties").is_none() => (items, "[]"),
            _ => (schema, ""),
        }
    }

    fn fields(&mut self, schema: &'a Node, prefix: &str, depth: usize, budget: &Budget) {
        if depth > MAX_DEPTH {
            return;
        }
        let (schema, suffix) = self.container(schema);
        // A top-level array's items are the table itself ("Schema: array of Pet").
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}{suffix}")
        };
        let (resolved, name) = resolve(self.root, schema);
        if let Some(name) = name {
            if self.stack.contains(&name) {
                return;
            }
            self.stack.push(name);
        }
        let mut props = Vec::new();
        self.properties(resolved, &mut props, 0);
        for (field, prop, required) in props {
            if self.full(budget) {
                self.truncated = true;
                break;
            }
            let (target, _) = resolve(self.root, prop);
            let (inner, _) = self.container(prop);
            let recursive = resolve(self.root, inner)
                .1
                .is_some_and(|n| self.stack.contains(&n));
            let mut type_text = type_text(self.root, prop, 0);
            if recursive {
                type_text.push_str(" (recursive: see above)");
            }
            let description = prop
                .str_at("description")
                .or_else(|| target.str_at("description"))
                .unwrap_or("")
                .to_string();
            self.rows.push(Row {
                depth,
                name: format!(
                    "{prefix}{}{field}",
                    if prefix.is_empty() { "" } else { "." }
                ),
                type_text,
                required,
                description,
                notes: notes(target),
            });
            if !recursive {
                let child_prefix = format!(
                    "{prefix}{}{field}",
                    if prefix.is_empty() { "" } else { "." }
                );
                self.fields(prop, &child_prefix, depth + 1, budget);
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(options) = resolved.get(key).and_then(Node::as_array) {
                for option in options {
                    let (target, _) = resolve(self.root, option);
                    if target.get("properties").is_none() && target.get("allOf").is_none() {
                        continue;
                    }
                    if self.full(budget) {
                        self.truncated = true;
                        break;
                    }
                    self.rows.push(Row {
                        depth,
                        name: format!(
                            "{prefix}{}({})",
                            if prefix.is_empty() { "" } else { " " },
                            if key == "oneOf" { "one of" } else { "any of" }
                        ),
                        type_text: type_text(self.root, option, 0),
                        required: false,
                        description: target.str_at("description").unwrap_or("").into(),
                        notes: String::new(),
                    });
                    self.fields(option, &prefix, depth + 1, budget);
                }
            }
        }
        if name.is_some() {
            self.stack.pop();
        }
    }
}

/// A schema as HTML: its type, then a table of its fields (if it has any).
pub fn schema_html(root: &Node, schema: &Node, budget: &mut Budget) -> String {
    let mut html = format!(
        "<p class=\"api-schema-type\">Schema: <code>{}</code></p>",
        esc(&type_text(root, schema, 0))
    );
    let mut walk = Walk {
        root,
        rows: Vec::new(),
        stack: Vec::new(),
        truncated: false,
    };
    walk.fields(schema, "", 0, budget);
    budget.rows_left = budget.rows_left.saturating_sub(walk.rows.len());
    if !walk.rows.is_empty() {
        html.push_str(
            "<div class=\"overflow-auto\"><table class=\"api-fields\"><thead><tr><th scope=\"col\">Field</th><th scope=\"col\">Type</th><th scope=\"col\">Required</th><th scope=\"col\">Description</th></tr></thead><tbody>",
        );
        for row in &walk.rows {
            let description = budget.describe(&row.description);
            html.push_str(&format!(
                "<tr><td class=\"api-d{}\"><code>{}</code></td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                row.depth.min(MAX_DEPTH),
                esc(&row.name),
                esc(&row.type_text),
                if row.required { "required" } else { "optional" },
                description,
                super::notes_html(&row.notes),
            ));
        }
        html.push_str("</tbody></table></div>");
    }
    if walk.truncated {
        html.push_str("<p class=\"api-note\">More fields are not shown here: the reference shows a bounded number of fields per schema. The full schema is in the OpenAPI document.</p>");
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openapi::node::parse;

    #[test]
    fn types_read_like_prose() {
        let root = parse(
            r##"{"components":{"schemas":{"Pet":{"type":"object","properties":{"id":{"type":"integer"}}},"Status":{"type":"string","enum":["a","b"]}}}}"##,
        )
        .unwrap();
        let t = |s: &str| type_text(&root, &parse(s).unwrap(), 0);
        assert_eq!(
            t(r#"{"type":"string","format":"date-time"}"#),
            "string (date-time)"
        );
        assert_eq!(t(r#"{"type":["string","null"]}"#), "string or null");
        assert_eq!(
            t(r#"{"type":"integer","nullable":true}"#),
            "integer or null"
        );
        assert_eq!(
            t(r##"{"type":"array","items":{"$ref":"#/components/schemas/Pet"}}"##),
            "array of Pet"
        );
        assert_eq!(
            t(r##"{"$ref":"#/components/schemas/Status"}"##),
            "Status (string)"
        );
        assert_eq!(
            t(r#"{"type":"object","additionalProperties":{"type":"integer"}}"#),
            "map of integer"
        );
        assert_eq!(t("{}"), "any");
    }

    #[test]
    fn cycles_are_shown_once() {
        let root = parse(
            r##"{"components":{"schemas":{"Node":{"type":"object","properties":{"name":{"type":"string"},"children":{"type":"array","items":{"$ref":"#/components/schemas/Node"}}}}}}}"##,
        )
        .unwrap();
        let schema = parse(r##"{"$ref":"#/components/schemas/Node"}"##).unwrap();
        let mut budget = Budget::new(1000);
        let html = schema_html(&root, &schema, &mut budget);
        assert!(html.contains("<code>children</code>"), "{html}");
        assert!(html.contains("recursive"), "{html}");
        assert_eq!(html.matches("<tr>").count(), 3, "{html}");
    }
}
