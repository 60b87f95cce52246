//! The reference as HTML: a contents list, then operations grouped by tag, each with
//! its parameters, request body and responses. Every value from the document is
//! escaped; every description goes through the Markdown sanitiser.

use indexmap::IndexMap;

use super::check::METHODS;
use super::node::Node;
use super::schema::{Budget, notes, resolve, schema_html, type_text};
use super::{esc, notes_html};

/// Schema rows in the whole reference.
const MAX_ROWS: usize = 20_000;
/// Media types shown per body.
const MAX_MEDIA_TYPES: usize = 5;

struct Operation<'a> {
    method: &'static str,
    path: &'a str,
    item: &'a Node,
    op: &'a Node,
}

fn operations(root: &Node) -> Vec<Operation<'_>> {
    let mut out = Vec::new();
    let Some(paths) = root.get("paths").and_then(Node::as_object) else {
        return out;
    };
    for (path, item) in paths {
        let (item, _) = resolve(root, item);
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push(Operation {
                    method,
                    path,
                    item,
                    op,
                });
            }
        }
    }
    out
}

/// Operations by their first tag, in the order of the document's `tags` list and
/// then of first use; untagged operations come last.
fn by_tag<'a>(root: &'a Node, ops: Vec<Operation<'a>>) -> IndexMap<String, Vec<Operation<'a>>> {
    let mut groups: IndexMap<String, Vec<Operation>> = IndexMap::new();
    if let Some(tags) = root.get("tags").and_then(Node::as_array) {
        for tag in tags {
            if let Some(name) = tag.str_at("name") {
                groups.entry(name.to_string()).or_default();
            }
        }
    }
    let mut untagged = Vec::new();
    for op in ops {
        match op
            .op
            .get("tags")
            .and_then(Node::as_array)
            .and_then(|t| t.first())
            .and_then(Node::as_str)
        {
            Some(tag) => groups.entry(tag.to_string()).or_default().push(op),
            None => untagged.push(op),
        }
    }
    groups.retain(|_, ops| !ops.is_empty());
    if !untagged.is_empty() {
        let name = if groups.is_empty() {
            "Operations"
        } else {
            "Other operations"
        };
        groups.insert(name.to_string(), untagged);
    }
    groups
}

fn tag_description<'a>(root: &'a Node, name: &str) -> Option<&'a str> {
    root.get("tags")?
        .as_array()?
        .iter()
        .find(|t| t.str_at("name") == Some(name))?
        .str_at("description")
}

/// Path-level parameters, overridden by the operation's own (same name and place).
fn parameters<'a>(root: &'a Node, op: &Operation<'a>) -> Vec<&'a Node> {
    let mut out: Vec<&Node> = Vec::new();
    for list in [op.item.get("parameters"), op.op.get("parameters")]
        .into_iter()
        .flatten()
    {
        for p in list.as_array().unwrap_or_default() {
            let (p, _) = resolve(root, p);
            let key = (p.str_at("name"), p.str_at("in"));
            out.retain(|q| (q.str_at("name"), q.str_at("in")) != key);
            out.push(p);
        }
    }
    out
}

fn parameters_html(root: &Node, params: &[&Node], budget: &mut Budget) -> String {
    let mut html = String::from(
        "<h5>Parameters</h5><div class=\"overflow-auto\"><table class=\"api-params\"><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">In</th><th scope=\"col\">Type</th><th scope=\"col\">Required</th><th scope=\"col\">Description</th></tr></thead><tbody>",
    );
    for p in params {
        let place = p.str_at("in").unwrap_or("");
        let schema = p.get("schema").or_else(|| {
            p.get("content")
                .and_then(Node::as_object)
                .and_then(|c| c.values().next())
                .and_then(|m| m.get("schema"))
        });
        let (ty, extra) = match schema {
            Some(s) => (type_text(root, s, 0), notes(resolve(root, s).0)),
            None => ("any".to_string(), String::new()),
        };
        let mut extra = extra;
        if p.bool_at("deprecated") {
            extra.push_str(" Deprecated.");
        }
        let description = budget.describe(p.str_at("description").unwrap_or(""));
        html.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
            esc(p.str_at("name").unwrap_or("")),
            esc(place),
            esc(&ty),
            if p.bool_at("required") || place == "path" {
                "required"
            } else {
                "optional"
            },
            description,
            notes_html(extra.trim()),
        ));
    }
    html.push_str("</tbody></table></div>");
    html
}

fn content_html(root: &Node, content: Option<&Node>, budget: &mut Budget) -> String {
    let Some(content) = content.and_then(Node::as_object) else {
        return String::new();
    };
    let mut html = String::new();
    for (media, value) in content.iter().take(MAX_MEDIA_TYPES) {
        html.push_str(&format!(
            "<p class=\"api-media\">Content type: <code>{}</code></p>",
            esc(media)
        ));
        if let Some(schema) = value.get("schema") {
            html.push_str(&schema_html(root, schema, budget));
        }
    }
    if content.len() > MAX_MEDIA_TYPES {
        html.push_str(&format!(
            "<p class=\"api-note\">{} more content types are in the OpenAPI document.</p>",
            content.len() - MAX_MEDIA_TYPES
        ));
    }
    html
}

fn request_body_html(root: &Node, op: &Node, budget: &mut Budget) -> String {
    let Some(body) = op.get("requestBody") else {
        return String::new();
    };
    let (body, _) = resolve(root, body);
    let description = budget.describe(body.str_at("description").unwrap_or(""));
    format!(
        "<h5>Request body{}</h5>{}{}",
        if body.bool_at("required") {
            " <small>(required)</small>"
        } else {
            " <small>(optional)</small>"
        },
        description,
        content_html(root, body.get("content"), budget)
    )
}

fn status_class(code: &str) -> &'static str {
    match code.chars().next() {
        Some('2') => "api-status-ok",
        Some('3') => "api-status-redirect",
        Some('4') | Some('5') => "api-status-error",
        _ => "api-status-other",
    }
}

fn responses_html(root: &Node, op: &Node, budget: &mut Budget) -> String {
    let Some(responses) = op.get("responses").and_then(Node::as_object) else {
        return String::new();
    };
    let mut html = String::from("<h5>Responses</h5>");
    for (code, response) in responses {
        let (response, _) = resolve(root, response);
        let description = budget.describe(response.str_at("description").unwrap_or(""));
        html.push_str(&format!(
            "<div class=\"api-response\"><p><strong class=\"api-status {}\">{}</strong></p>{}{}</div>",
            status_class(code),
            esc(code),
            description,
            content_html(root, response.get("content"), budget)
        ));
    }
    html
}

fn operation_html(root: &Node, op: &Operation, id: usize, budget: &mut Budget) -> String {
    let mut html = format!(
        "<article class=\"api-op\" id=\"op-{id}\"><h4><span class=\"api-method api-method-{m}\">{M}</span> <code class=\"api-path\">{path}</code>{dep}</h4>",
        m = op.method,
        M = op.method.to_uppercase(),
        path = esc(op.path),
        dep = if op.op.bool_at("deprecated") {
            " <span class=\"api-deprecated\">deprecated</span>"
        } else {
            ""
        },
    );
    if let Some(summary) = op.op.str_at("summary") {
        html.push_str(&format!("<p class=\"api-summary\">{}</p>", esc(summary)));
    }
    html.push_str(&budget.describe(op.op.str_at("description").unwrap_or("")));
    if let Some(id) = op.op.str_at("operationId") {
        html.push_str(&format!(
            "<p class=\"api-note\">Operation id: <code>{}</code></p>",
            esc(id)
        ));
    }
    let params = parameters(root, op);
    if !params.is_empty() {
        html.push_str(&parameters_html(root, &params, budget));
    }
    html.push_str(&request_body_html(root, op.op, budget));
    html.push_str(&responses_html(root, op.op, budget));
    html.push_str("</article>");
    html
}

fn servers_html(root: &Node) -> String {
    let Some(servers) = root.get("servers").and_then(Node::as_array) else {
        return String::new();
    };
    let items: Vec<String> = servers
        .iter()
        .take(10)
        .filter_map(|s| {
            let url = s.str_at("url")?;
            Some(match s.str_at("description") {
                Some(d) => format!("<li><code>{}</code> — {}</li>", esc(url), esc(d)),
                None => format!("<li><code>{}</code></li>", esc(url)),
            })
        })
        .collect();
    if items.is_empty() {
        return String::new();
    }
    format!(
        "<p>Base URL{}:</p><ul class=\"api-servers\">{}</ul>",
        if items.len() > 1 { "s" } else { "" },
        items.concat()
    )
}

/// The whole reference (the page supplies its `<h2>`) and its number of operations;
/// `root` has passed `check`. `None` when its descriptions alone would exceed the
/// size a reference may have (rendering stops there).
pub fn render(root: &Node, openapi_version: &str) -> Option<(String, usize)> {
    let info = root.get("info").unwrap_or(&Node::Null);
    let title = info.str_at("title").unwrap_or("API");
    let version = info.get("version").map(Node::literal).unwrap_or_default();
    let ops = operations(root);
    let count = ops.len();
    let groups = by_tag(root, ops);
    let mut budget = Budget::new(MAX_ROWS);
    let mut html = format!(
        "<div class=\"api-ref\"><p class=\"api-meta\"><strong>{}</strong> · version {} · OpenAPI {} · {count} operation{}</p>",
        esc(title),
        esc(&version),
        esc(openapi_version),
        if count == 1 { "" } else { "s" },
    );
    html.push_str(&budget.describe(info.str_at("description").unwrap_or("")));
    html.push_str(&servers_html(root));
    let mut contents = String::from("<nav aria-label=\"API operations\" class=\"api-toc\"><ul>");
    let mut body = String::new();
    let mut n = 0;
    for (t, (tag, ops)) in groups.iter().enumerate() {
        contents.push_str(&format!("<li><a href=\"#tag-{t}\">{}</a><ul>", esc(tag)));
        let description = budget.describe(tag_description(root, tag).unwrap_or(""));
        body.push_str(&format!(
            "<section class=\"api-tag\" aria-labelledby=\"tag-{t}\"><h3 id=\"tag-{t}\">{}</h3>{}",
            esc(tag),
            description
        ));
        for op in ops {
            n += 1;
            contents.push_str(&format!(
                "<li><a href=\"#op-{n}\"><span class=\"api-method api-method-{}\">{}</span> <code>{}</code></a></li>",
                op.method,
                op.method.to_uppercase(),
                esc(op.path)
            ));
            body.push_str(&operation_html(root, op, n, &mut budget));
        }
        contents.push_str("</ul></li>");
        body.push_str("</section>");
    }
    contents.push_str("</ul></nav>");
    html.push_str(&contents);
    html.push_str(&body);
    html.push_str("</div>");
    (!budget.overflowed).then_some((html, count))
}
