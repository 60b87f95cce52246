//! Caps the block containers one line of Markdown may open. CommonMark opens a block
//! quote or a list item for every `>` or `- ` at the start of a line, so a line of
//! `>>>>…` nests as deep as it is long, and the sanitiser's work grows with the depth
//! of the HTML it parses. Past [`MAX_NESTING`] markers on a line the next marker is
//! escaped with a backslash: it and the rest of the line are literal text.
//!
//! One pass over the text. Lines in fenced code and in raw HTML blocks are left alone
//! (a backslash would show there); the scan follows them approximately, and what it
//! misses is still bounded by the HTML balancer (`super::balance`).

use std::borrow::Cow;

/// The containers (block quotes and list items) one line may open.
pub const MAX_NESTING: usize = 32;

/// What the lines after a raw HTML block's first line are, until it ends.
#[derive(Debug, Clone, Copy)]
enum Raw {
    /// Ends at a blank line.
    UntilBlank,
    /// Ends at the line containing one of these (lower case).
    Until(&'static [&'static str]),
}

/// A fence (``` or ~~~) of this character and length is open.
#[derive(Debug, Clone, Copy)]
struct Fence {
    ch: u8,
    len: usize,
}

#[derive(Default)]
struct Scan {
    fence: Option<Fence>,
    raw: Option<Raw>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Columns and bytes of the whitespace at `b[from..]` (a tab counts four).
fn whitespace(b: &[u8], from: usize) -> (usize, usize) {
    let mut columns = 0;
    let mut i = from;
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        columns += if b[i] == b'\t' { 4 } else { 1 };
        i += 1;
    }
    (columns, i)
}

/// A container marker at `b[i]`: its length and where an escaping backslash goes.
fn marker_at(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let ends_marker = |k: usize| k >= b.len() || is_space(b[k]);
    match b.get(i)? {
        b'>' => Some((1, i)),
        b'-' | b'+' | b'*' if ends_marker(i + 1) => Some((1, i)),
        b'0'..=b'9' => {
            let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            let delimiter = i + digits;
            (digits <= 9
                && matches!(b.get(delimiter), Some(b'.' | b')'))
                && ends_marker(delimiter + 1))
            .then_some((digits + 1, delimiter))
        }
        _ => None,
    }
}

/// `---`, `* * *`, `___`: a leaf block, not more containers.
fn is_thematic_break(s: &str) -> bool {
    let mut marks = s.bytes().filter(|b| !is_space(*b));
    let Some(first @ (b'-' | b'*' | b'_')) = marks.next() else {
        return false;
    };
    let mut count = 1;
    for b in marks {
        if b != first {
            return false;
        }
        count += 1;
    }
    count >= 3
}

/// The fence a line's content opens (```` ``` ```` or `~~~`, three or more).
fn fence_of(content: &str) -> Option<Fence> {
    let ch = *content.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let len = content.bytes().take_while(|b| *b == ch).count();
    (len >= 3).then_some(Fence { ch, len })
}

/// The raw HTML block a line's content starts, if any (CommonMark's seven kinds,
/// approximately: the first five end at their terminator, the rest at a blank line).
fn raw_html_of(content: &str) -> Option<Raw> {
    let b = content.as_bytes();
    if b.first() != Some(&b'<') {
        return None;
    }
    let lower = content
        .get(..content.len().min(12))
        .unwrap_or("")
        .to_ascii_lowercase();
    const VERBATIM: &[&str] = &["</pre>", "</script>", "</style>", "</textarea>"];
    if ["<pre", "<script", "<style", "<textarea"]
        .iter()
        .any(|t| lower.starts_with(t))
    {
        return Some(Raw::Until(VERBATIM));
    }
    if lower.starts_with("<!--") {
        return Some(Raw::Until(&["-->"]));
    }
    if lower.starts_with("<?") {
        return Some(Raw::Until(&["?>"]));
    }
    if lower.starts_with("<![cdata[") {
        return Some(Raw::Until(&["]]>"]));
    }
    if lower.starts_with("<!") {
        return Some(Raw::Until(&[">"]));
    }
    match b.get(1) {
        Some(c) if c.is_ascii_alphabetic() || *c == b'/' => Some(Raw::UntilBlank),
        _ => None,
    }
}

fn contains_any(line: &str, needles: &[&str]) -> bool {
    let lower = line.to_ascii_lowercase();
    needles.iter().any(|n| lower.contains(n))
}

impl Scan {
    /// Where a backslash goes in this line, if anywhere; updates the fence and raw
    /// HTML state.
    fn line(&mut self, line: &str) -> Option<usize> {
        let b = line.as_bytes();
        let (indent, mut i) = whitespace(b, 0);
        let mut count = 0;
        let mut escape = None;
        let mut after_markers = i;
        while let Some((len, backslash_at)) = marker_at(b, i) {
            count += 1;
            if count > MAX_NESTING {
                // An `<hr>` after the last container is a leaf: nothing to escape.
                if !is_thematic_break(&line[i..]) {
                    escape = Some(backslash_at);
                }
                break;
            }
            let (gap, next) = whitespace(b, i + len);
            after_markers = next;
            // More than four columns after a marker starts indented code.
            if gap > 4 {
                break;
            }
            i = next;
        }
        let content = line[after_markers..].trim_end_matches(['\n', '\r']);
        let content_start = content.trim_start_matches([' ', '\t']);
        let blank = content.trim().is_empty();
        if let Some(fence) = self.fence {
            let closes = fence_of(content_start)
                .is_some_and(|f| f.ch == fence.ch && f.len >= fence.len)
                && content_start
                    .trim_start_matches(fence.ch as char)
                    .trim()
                    .is_empty();
            if closes {
                self.fence = None;
            }
            return None;
        }
        if let Some(raw) = self.raw {
            let ends = match raw {
                Raw::UntilBlank => blank,
                Raw::Until(needles) => contains_any(line, needles),
            };
            if ends {
                self.raw = None;
            }
            return None;
        }
        // Indented code (four columns before any marker) is left as it is.
        if indent > 3 {
            return None;
        }
        if escape.is_some() {
            return escape;
        }
        if let Some(fence) = fence_of(content_start) {
            self.fence = Some(fence);
        } else if let Some(raw) = raw_html_of(content_start) {
            let ends_here = match raw {
                Raw::UntilBlank => false,
                Raw::Until(needles) => {
                    // The terminator may be on the first line, after its opening.
                    let opening = content_start.len().min(2);
                    contains_any(&content_start[opening..], needles)
                }
            };
            if !ends_here {
                self.raw = Some(raw);
            }
        }
        None
    }
}

/// `source` with every marker past [`MAX_NESTING`] on a line escaped (borrowed when
/// nothing needed escaping).
pub fn cap_nesting(source: &str) -> Cow<'_, str> {
    let mut scan = Scan::default();
    let mut out: Option<String> = None;
    let mut start = 0;
    for line in source.split_inclusive('\n') {
        if let Some(at) = scan.line(line) {
            let out = out.get_or_insert_with(|| {
                let mut s = String::with_capacity(source.len() + 64);
                s.push_str(&source[..start]);
                s
            });
            out.push_str(&line[..at]);
            out.push('\\');
            out.push_str(&line[at..]);
        } else if let Some(out) = out.as_mut() {
            out.push_str(line);
        }
        start += line.len();
    }
    out.map_or(Cow::Borrowed(source), Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_within_the_cap_are_untouched() {
        for text in [
            "> a\n>> b\n- c\n  - d\n",
            &format!("{} x\n", ">".repeat(MAX_NESTING)),
            &format!("{}x\n", "- ".repeat(MAX_NESTING)),
            "1. one\n2) two\n",
        ] {
            assert!(matches!(cap_nesting(text), Cow::Borrowed(_)), "{text:?}");
        }
    }

    #[test]
    fn the_marker_past_the_cap_is_escaped() {
        let deep = format!("{} x\n", ">".repeat(MAX_NESTING + 5));
        let capped = cap_nesting(&deep);
        assert_eq!(
            capped,
            format!("{}\\{} x\n", ">".repeat(MAX_NESTING), ">".repeat(5))
        );
        let ordered = format!("{}x", "1. ".repeat(MAX_NESTING + 1));
        assert!(cap_nesting(&ordered).ends_with("1\\. x"));
        let mixed = format!("{}x", "> - ".repeat(MAX_NESTING));
        assert_eq!(cap_nesting(&mixed).matches('\\').count(), 1);
    }

    #[test]
    fn code_and_raw_html_and_thematic_breaks_are_left_alone() {
        let deep = ">".repeat(MAX_NESTING + 8);
        for text in [
            format!("```\n{deep}\n```\n"),
            format!("> ~~~~\n> {deep}\n> ~~~~\n"),
            format!("    {deep}\n"),
            format!("<pre>\n\n{deep}\n</pre>\n"),
            format!("<div>\n{deep}\n"),
            format!("{}\n", "- ".repeat(MAX_NESTING + 8)),
            format!("{}* * *\n", "- ".repeat(MAX_NESTING)),
        ] {
            assert!(matches!(cap_nesting(&text), Cow::Borrowed(_)), "{text:?}");
        }
        // After the fence or the HTML block, deep lines are capped again.
        let after = format!("```\n```\n{deep} x\n\n<div>\n\n{deep} y\n");
        assert_eq!(cap_nesting(&after).matches('\\').count(), 2);
    }
}
