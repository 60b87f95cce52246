//! Is the parsed document an OpenAPI 3.0 or 3.1 description the reference can show?
//! Each problem names where it is (`paths./pets.get.parameters[0]`), so an admin can
//! find it; local `$ref`s must point at something that exists.

use super::node::Node;

/// The HTTP methods an OpenAPI path item may hold, in the order the reference lists them.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// At most this many problems are reported at once.
const MAX_PROBLEMS: usize = 10;

/// The major.minor version of an accepted document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V3_0,
    V3_1,
}

struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, problem: String) {
        if self.0.len() < MAX_PROBLEMS {
            self.0.push(problem);
        }
    }
}

/// Resolves a local JSON pointer (`#/components/schemas/Pet`).
pub fn pointer<'a>(root: &'a Node, reference: &str) -> Option<&'a Node> {
    let path = reference.strip_prefix('#')?;
    if path.is_empty() {
        return Some(root);
    }
    let mut node = root;
    for raw in path.strip_prefix('/')?.split('/') {
        let part = raw.replace("~1", "/").replace("~0", "~");
        node = match node {
            Node::Object(map) => map.get(&part)?,
            Node::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

fn version(root: &Node) -> Result<Version, String> {
    match root.get("openapi") {
        None if root.get("swagger").is_some() => Err(
            "not an OpenAPI 3.x document: this is Swagger 2.0 (it has `swagger`, not `openapi`). Convert it to OpenAPI 3.0 or 3.1 first."
                .into(),
        ),
        None => Err("not an OpenAPI 3.x document: missing `openapi`.".into()),
        Some(Node::String(v)) => {
            let mut parts = v.split('.');
            match (parts.next(), parts.next()) {
                (Some("3"), Some("0")) => Ok(Version::V3_0),
                (Some("3"), Some("1")) => Ok(Version::V3_1),
                _ => Err(format!(
                    "`openapi` is {v:?}: Gatehouse reads OpenAPI 3.0 and 3.1 documents."
                )),
            }
        }
        Some(other) => Err(format!(
            "`openapi` must be a string such as \"3.1.0\", not {} (in YAML, put the version in quotes).",
            other.literal()
        )),
    }
}

fn check_info(root: &Node, problems: &mut Problems) {
    let Some(info) = root.get("info") else {
        problems.add("`info` is missing: it names the API (`title`) and its `version`.".into());
        return;
    };
    if info.as_object().is_none() {
        problems.add("`info` must be a mapping with `title` and `version`.".into());
        return;
    }
    match info.get("title") {
        Some(Node::String(t)) if !t.trim().is_empty() => {}
        _ => problems.add("`info.title` is missing: give the API a name.".into()),
    }
    match info.get("version") {
        Some(Node::String(_)) | Some(Node::Number(_)) => {}
        _ => {
            problems.add("`info.version` is missing: say which version of the API this is.".into())
        }
    }
}

fn check_parameters(root: &Node, at: &str, node: Option<&Node>, problems: &mut Problems) {
    let Some(node) = node else { return };
    let Some(list) = node.as_array() else {
        problems.add(format!("{at}.parameters must be a list."));
        return;
    };
    for (i, item) in list.iter().enumerate() {
        let here = format!("{at}.parameters[{i}]");
        let param = match item.str_at("$ref") {
            Some(r) => match pointer(root, r) {
                Some(p) => p,
                // Reported by the $ref walk.
                None => continue,
            },
            None => item,
        };
        if param.as_object().is_none() {
            problems.add(format!("{here} must be a mapping with `name` and `in`."));
            continue;
        }
        if param.str_at("name").is_none_or(str::is_empty) {
            problems.add(format!("{here}: `name` is missing."));
        }
        match param.str_at("in") {
            Some("query" | "header" | "path" | "cookie") => {}
            _ => problems.add(format!(
                "{here}: `in` must be query, header, path or cookie."
            )),
        }
    }
}

fn check_operation(
    root: &Node,
    version: Version,
    at: &str,
    op: &Node,
    problems: &mut Problems,
) -> bool {
    if op.as_object().is_none() {
        problems.add(format!("{at} must be a mapping (an operation)."));
        return false;
    }
    check_parameters(root, at, op.get("parameters"), problems);
    match op.get("responses") {
        None if version == Version::V3_0 => problems.add(format!(
            "{at}: `responses` is missing (OpenAPI 3.0 requires it)."
        )),
        Some(r) if r.as_object().is_none() => {
            problems.add(format!("{at}.responses must be a mapping of status codes."))
        }
        _ => {}
    }
    if let Some(body) = op.get("requestBody")
        && body.as_object().is_none()
    {
        problems.add(format!("{at}.requestBody must be a mapping."));
    }
    true
}

fn check_paths(root: &Node, version: Version, problems: &mut Problems) {
    let paths = match root.get("paths") {
        None => {
            problems.add(
                "`paths` is missing: the reference lists the API's operations, so the document needs at least one path."
                    .into(),
            );
            return;
        }
        Some(Node::Object(paths)) => paths,
        Some(_) => {
            problems.add("`paths` must be a mapping of paths (\"/pets\") to operations.".into());
            return;
        }
    };
    let mut operations = 0;
    for (path, item) in paths {
        let at = format!("paths.{path}");
        if !path.starts_with('/') {
            problems.add(format!("paths: {path:?} must start with /."));
        }
        let item = match item.str_at("$ref") {
            Some(r) => match pointer(root, r) {
                Some(target) => target,
                None => continue,
            },
            None => item,
        };
        if item.as_object().is_none() {
            problems.add(format!("{at} must be a mapping of methods to operations."));
            continue;
        }
        check_parameters(root, &at, item.get("parameters"), problems);
        for method in METHODS {
            if let Some(op) = item.get(method)
                && check_operation(root, version, &format!("{at}.{method}"), op, problems)
            {
                operations += 1;
            }
        }
    }
    if operations == 0 && problems.0.is_empty() {
        problems.add(
            "The document describes no operations: add at least one path with an operation (get, post, …)."
                .into(),
        );
    }
}

/// Every local `$ref` must resolve. Literal example data is not searched.
fn check_refs(root: &Node, node: &Node, at: &mut Vec<String>, problems: &mut Problems) {
    match node {
        Node::Object(map) => {
            if let Some(Node::String(r)) = map.get("$ref")
                && r.starts_with('#')
                && pointer(root, r).is_none()
            {
                problems.add(format!(
                    "{}: `$ref` {r:?} points at nothing in this document.",
                    at.join(".")
                ));
            }
            for (key, value) in map {
                if matches!(
                    key.as_str(),
                    "example" | "examples" | "default" | "enum" | "const"
                ) {
                    continue;
                }
                at.push(key.clone());
                check_refs(root, value, at, problems);
                at.pop();
            }
        }
        Node::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                match at.last_mut() {
                    Some(last) => {
                        let saved = last.clone();
                        last.push_str(&format!("[{i}]"));
                        check_refs(root, item, at, problems);
                        if let Some(last) = at.last_mut() {
                            *last = saved;
                        }
                    }
                    None => check_refs(root, item, at, problems),
                }
            }
        }
        _ => {}
    }
}

/// Checks the document; every problem found is returned (up to ten).
pub fn check(root: &Node) -> Result<Version, Vec<String>> {
    if root.as_object().is_none() {
        return Err(vec![
            "not an OpenAPI 3.x document: the top level must be a mapping with `openapi`, `info` and `paths`."
                .into(),
        ]);
    }
    let version = version(root).map_err(|e| vec![e])?;
    let mut problems = Problems(Vec::new());
    check_info(root, &mut problems);
    check_paths(root, version, &mut problems);
    check_refs(root, root, &mut Vec::new(), &mut problems);
    if problems.0.is_empty() {
        Ok(version)
    } else {
        Err(problems.0)
    }
}
