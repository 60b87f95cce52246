//! Makes the HTML the sanitiser parses well nested and shallow, so that parsing it
//! takes time linear in its length.
//!
//! The HTML parser behind the sanitiser (html5ever) walks its stack of open elements
//! for most block-level tags and re-opens every unclosed formatting element (`<b>`,
//! `<i>`, …) at each new block, so deep or unclosed raw HTML (`<div>` × 40,000, or
//! `<p><b id=N></p>` repeated) costs time, and even output, quadratic in its length.
//! This pass tokenises the HTML the way the parser does and rewrites it so that:
//!
//! - every element is closed explicitly, before its parent closes: the end tags the
//!   parser would imply (an `<li>` ending the previous item, a block ending a `<p>`, a
//!   parent's end tag ending its children) are written out, and end tags that close
//!   nothing are dropped;
//! - at most [`MAX_DEPTH`] elements are open at once, at most [`MAX_FORMATTING`] of
//!   them formatting elements: a start tag past either cap is escaped into literal
//!   text;
//! - the parser never switches to a raw-text mode that could hide tags from this pass
//!   (`<script>`, `<style>`, `<textarea>`, … pass through only when their content has
//!   no `<` and their end tag follows; otherwise the start tag is literal text), and
//!   `<![CDATA[` is literal text;
//! - a tag or comment left open at the end swallows the rest, as it does in the parser.
//!
//! Well-formed HTML (everything the Markdown renderer writes itself) passes through
//! unchanged. The sanitiser still decides what is allowed; this pass only bounds its
//! work, so it can err towards escaping, never towards hiding a tag from the count.

/// Elements open at once.
pub const MAX_DEPTH: usize = 100;
/// Formatting elements (`<b>`, `<em>`, `<a>`, …) open at once: the parser re-opens
/// those an implied end tag closed, once per block.
pub const MAX_FORMATTING: usize = 16;

const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
    "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
];

/// Elements whose content the parser reads as text until their end tag.
const RAW_TEXT: &[&str] = &[
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
];

const FORMATTING: &[&str] = &[
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];

/// HTML's "special" elements (plus the MathML and SVG ones that bound scopes).
const SPECIAL: &[&str] = &[
    "address",
    "annotation-xml",
    "applet",
    "area",
    "article",
    "aside",
    "base",
    "basefont",
    "bgsound",
    "blockquote",
    "body",
    "br",
    "button",
    "caption",
    "center",
    "col",
    "colgroup",
    "dd",
    "desc",
    "details",
    "dir",
    "div",
    "dl",
    "dt",
    "embed",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "foreignobject",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hgroup",
    "hr",
    "html",
    "iframe",
    "img",
    "input",
    "keygen",
    "li",
    "link",
    "listing",
    "main",
    "marquee",
    "menu",
    "meta",
    "mi",
    "mn",
    "mo",
    "ms",
    "mtext",
    "nav",
    "noembed",
    "noframes",
    "noscript",
    "object",
    "ol",
    "p",
    "param",
    "plaintext",
    "pre",
    "script",
    "search",
    "section",
    "select",
    "source",
    "style",
    "summary",
    "table",
    "tbody",
    "td",
    "template",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "track",
    "ul",
    "wbr",
    "xmp",
];

/// Elements that bound the parser's default scope.
const SCOPE: &[&str] = &[
    "annotation-xml",
    "applet",
    "caption",
    "desc",
    "foreignobject",
    "html",
    "marquee",
    "mi",
    "mn",
    "mo",
    "ms",
    "mtext",
    "object",
    "table",
    "td",
    "template",
    "th",
    "title",
];

/// Elements that bound the table scope.
const TABLE_SCOPE: &[&str] = &["html", "table", "template"];

const TABLE_PARTS: &[&str] = &[
    "caption", "colgroup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
];

/// Start tags that end an open `<p>` (in button scope).
const CLOSES_P: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "dd",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "li",
    "listing",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "plaintext",
    "pre",
    "search",
    "section",
    "summary",
    "table",
    "ul",
    "xmp",
];

const HEADINGS: &[&str] = &["h1", "h2", "h3", "h4", "h5", "h6"];

fn is_in(set: &[&str], name: &str) -> bool {
    set.contains(&name)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

fn find_byte(b: &[u8], from: usize, needle: u8) -> Option<usize> {
    b.get(from..)?
        .iter()
        .position(|c| *c == needle)
        .map(|p| p + from)
}

/// The end of a tag whose name ends at `j`: the index after its `>` and whether it
/// was self-closing (`/>`), following the parser's attribute states (a quoted value
/// may hold `>`). `None`: it runs to the end of the input.
fn tag_end(b: &[u8], mut j: usize) -> Option<(usize, bool)> {
    loop {
        while j < b.len() && is_space(b[j]) {
            j += 1;
        }
        match *b.get(j)? {
            b'>' => return Some((j + 1, false)),
            b'/' => {
                if b.get(j + 1) == Some(&b'>') {
                    return Some((j + 2, true));
                }
                j += 1;
            }
            _ => {
                // An attribute name (its first character may be `=`).
                j += 1;
                while j < b.len() && !is_space(b[j]) && !matches!(b[j], b'/' | b'>' | b'=') {
                    j += 1;
                }
                while j < b.len() && is_space(b[j]) {
                    j += 1;
                }
                if b.get(j) == Some(&b'=') {
                    j += 1;
                    while j < b.len() && is_space(b[j]) {
                        j += 1;
                    }
                    match *b.get(j)? {
                        quote @ (b'"' | b'\'') => j = find_byte(b, j + 1, quote)? + 1,
                        b'>' => return Some((j + 1, false)),
                        _ => {
                            while j < b.len() && !is_space(b[j]) && b[j] != b'>' {
                                j += 1;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The index after the end of the comment that starts at `lt` (`<!--`), if it ends.
fn comment_end(b: &[u8], lt: usize) -> Option<usize> {
    let body = lt + 4;
    if b.get(body) == Some(&b'>') {
        return Some(body + 1);
    }
    if b.get(body..body + 2) == Some(b"->") {
        return Some(body + 2);
    }
    let mut p = body;
    loop {
        let dash = find_byte(b, p, b'-')?;
        if b.get(dash + 1) == Some(&b'-') {
            match b.get(dash + 2) {
                Some(b'>') => return Some(dash + 3),
                Some(b'!') if b.get(dash + 3) == Some(&b'>') => return Some(dash + 4),
                _ => {}
            }
        }
        p = dash + 1;
    }
}

/// What a `<` at `lt` starts.
enum Lexed {
    /// Literal text: only the `<` is consumed.
    Text,
    /// A comment, doctype, processing instruction or bogus comment ending at `end`.
    Markup {
        end: usize,
    },
    Start {
        name: String,
        end: usize,
        self_closing: bool,
    },
    End {
        name: String,
        end: usize,
    },
    /// Something the parser drops (`</>`), ending at `end`.
    Nothing {
        end: usize,
    },
    /// `<![CDATA[`: its `<` becomes literal text.
    EscapeLt,
    /// A tag or comment that runs to the end of the input.
    Unterminated,
}

fn tag_name(b: &[u8], from: usize) -> (String, usize) {
    let mut j = from;
    while j < b.len() && !is_space(b[j]) && !matches!(b[j], b'/' | b'>') {
        j += 1;
    }
    (String::from_utf8_lossy(&b[from..j]).to_ascii_lowercase(), j)
}

fn lex(b: &[u8], lt: usize) -> Lexed {
    let until_gt = |from: usize| {
        find_byte(b, from, b'>').map_or(Lexed::Unterminated, |gt| Lexed::Markup { end: gt + 1 })
    };
    match b.get(lt + 1) {
        Some(b'!') => {
            if b.get(lt + 2..lt + 4) == Some(b"--") {
                comment_end(b, lt).map_or(Lexed::Unterminated, |end| Lexed::Markup { end })
            } else if b.get(lt + 2..lt + 9) == Some(b"[CDATA[") {
                Lexed::EscapeLt
            } else {
                until_gt(lt + 2)
            }
        }
        Some(b'?') => until_gt(lt + 2),
        Some(b'/') => match b.get(lt + 2) {
            Some(c) if c.is_ascii_alphabetic() => {
                let (name, j) = tag_name(b, lt + 2);
                tag_end(b, j).map_or(Lexed::Unterminated, |(end, _)| Lexed::End { name, end })
            }
            Some(b'>') => Lexed::Nothing { end: lt + 3 },
            Some(_) => until_gt(lt + 2),
            None => Lexed::Text,
        },
        Some(c) if c.is_ascii_alphabetic() => {
            let (name, j) = tag_name(b, lt + 1);
            tag_end(b, j).map_or(Lexed::Unterminated, |(end, self_closing)| Lexed::Start {
                name,
                end,
                self_closing,
            })
        }
        _ => Lexed::Text,
    }
}

struct Open {
    name: String,
    formatting: bool,
}

struct Balancer<'a> {
    src: &'a str,
    out: String,
    open: Vec<Open>,
    formatting: usize,
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            other => out.push(other),
        }
    }
}

impl Balancer<'_> {
    /// Writes end tags for the open elements from the top down to index `k`.
    fn close_from(&mut self, k: usize) {
        while self.open.len() > k {
            if let Some(e) = self.open.pop() {
                if e.formatting {
                    self.formatting -= 1;
                }
                self.out.push_str("</");
                self.out.push_str(&e.name);
                self.out.push('>');
            }
        }
    }

    /// The open element an end tag `name` closes, searched the way the parser does:
    /// within its scope for special and formatting elements, up to the nearest
    /// special element for the rest.
    fn find_open(&self, name: &str) -> Option<usize> {
        let boundary: &dyn Fn(&str) -> bool = if is_in(TABLE_PARTS, name) {
            &|e| is_in(TABLE_SCOPE, e)
        } else if name == "p" {
            &|e| is_in(SCOPE, e) || e == "button"
        } else if name == "li" {
            &|e| is_in(SCOPE, e) || e == "ol" || e == "ul"
        } else if is_in(SPECIAL, name) || is_in(FORMATTING, name) {
            &|e| is_in(SCOPE, e)
        } else {
            &|e| is_in(SPECIAL, e)
        };
        for (k, e) in self.open.iter().enumerate().rev() {
            if e.name == name {
                return Some(k);
            }
            if boundary(&e.name) {
                return None;
            }
        }
        None
    }

    /// Walks down from the top for one of `targets`, stopping at `stop`.
    fn find_down(&self, targets: &[&str], stop: impl Fn(&str) -> bool) -> Option<usize> {
        for (k, e) in self.open.iter().enumerate().rev() {
            if is_in(targets, &e.name) {
                return Some(k);
            }
            if stop(&e.name) {
                return None;
            }
        }
        None
    }

    /// Writes the end tags the parser would imply before a start tag `name`.
    fn close_implied(&mut self, name: &str) {
        let items = match name {
            "li" => Some(&["li"][..]),
            "dd" | "dt" => Some(&["dd", "dt"][..]),
            _ => None,
        };
        if let Some(items) = items
            && let Some(k) = self.find_down(items, |e| {
                is_in(SPECIAL, e) && !matches!(e, "address" | "div" | "p")
            })
        {
            self.close_from(k);
        }
        if is_in(CLOSES_P, name)
            && let Some(k) = self.find_down(&["p"], |e| is_in(SCOPE, e) || e == "button")
        {
            self.close_from(k);
        }
        if is_in(HEADINGS, name) && self.open.last().is_some_and(|e| is_in(HEADINGS, &e.name)) {
            self.close_from(self.open.len() - 1);
        }
        let within: Option<(&[&str], &[&str])> = match name {
            "td" | "th" => Some((
                &["td", "th"],
                &["html", "table", "tbody", "template", "tfoot", "thead", "tr"],
            )),
            "tr" => Some((
                &["tr"],
                &["html", "table", "tbody", "template", "tfoot", "thead"],
            )),
            "tbody" | "thead" | "tfoot" => {
                Some((&["tbody", "tfoot", "thead"], &["html", "table", "template"]))
            }
            "a" => Some((&["a"], SCOPE)),
            "button" => Some((&["button"], SCOPE)),
            "option" | "optgroup" => Some((&["option"], &[])),
            _ => None,
        };
        if let Some((targets, stop)) = within {
            let found = if name == "option" || name == "optgroup" {
                // Only the current node.
                self.open
                    .last()
                    .filter(|e| e.name == "option")
                    .map(|_| self.open.len() - 1)
            } else {
                self.find_down(targets, |e| is_in(stop, e))
            };
            if let Some(k) = found {
                self.close_from(k);
            }
        }
        if name == "optgroup" && self.open.last().is_some_and(|e| e.name == "optgroup") {
            self.close_from(self.open.len() - 1);
        }
    }

    /// The index after a raw-text element's end tag, when its content (from `from`)
    /// holds no `<` and the end tag follows it.
    fn raw_text_end(&self, from: usize, name: &str) -> Option<usize> {
        let b = self.src.as_bytes();
        let lt = find_byte(b, from, b'<')?;
        let name_at = lt + 2;
        let name_end = name_at + name.len();
        if b.get(lt + 1) != Some(&b'/')
            || !b
                .get(name_at..name_end)
                .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            || !b
                .get(name_end)
                .is_some_and(|c| is_space(*c) || matches!(c, b'/' | b'>'))
        {
            return None;
        }
        tag_end(b, name_end).map(|(end, _)| end)
    }

    /// Handles the start tag at `lt..end`; returns where to continue.
    fn start(&mut self, lt: usize, name: &str, end: usize, self_closing: bool) -> usize {
        let tag = &self.src[lt..end];
        if is_in(RAW_TEXT, name) {
            // `<plaintext>` never ends: the rest of the page would be its text.
            return match self.raw_text_end(end, name).filter(|_| name != "plaintext") {
                Some(after) => {
                    self.out.push_str(&self.src[lt..after]);
                    after
                }
                None => {
                    escape_into(&mut self.out, tag);
                    end
                }
            };
        }
        self.close_implied(name);
        if is_in(VOID, name) {
            self.out.push_str(tag);
            return end;
        }
        let formatting = is_in(FORMATTING, name);
        if self.open.len() >= MAX_DEPTH || (formatting && self.formatting >= MAX_FORMATTING) {
            escape_into(&mut self.out, tag);
            return end;
        }
        self.out.push_str(tag);
        self.open.push(Open {
            name: name.to_string(),
            formatting,
        });
        if formatting {
            self.formatting += 1;
        }
        // The parser ignores `/>` on HTML elements (`<div/>` opens a div) and honours
        // it on SVG and MathML ones: an explicit end tag makes both the same.
        if self_closing {
            self.close_from(self.open.len() - 1);
        }
        end
    }

    fn end(&mut self, name: &str) {
        if is_in(VOID, name) {
            // `</br>` is a line break to the parser; the other void end tags are nothing.
            if name == "br" {
                self.out.push_str("<br>");
            }
            return;
        }
        if let Some(k) = self.find_open(name) {
            self.close_from(k);
        }
    }

    fn run(mut self) -> String {
        let b = self.src.as_bytes();
        let mut i = 0;
        let mut copied = 0;
        while let Some(lt) = find_byte(b, i, b'<') {
            let lexed = lex(b, lt);
            if let Lexed::Text = lexed {
                i = lt + 1;
                continue;
            }
            self.out.push_str(&self.src[copied..lt]);
            i = match lexed {
                Lexed::Text => lt + 1,
                Lexed::Markup { end } => {
                    self.out.push_str(&self.src[lt..end]);
                    end
                }
                Lexed::Start {
                    name,
                    end,
                    self_closing,
                } => self.start(lt, &name, end, self_closing),
                Lexed::End { name, end } => {
                    self.end(&name);
                    end
                }
                Lexed::Nothing { end } => end,
                Lexed::EscapeLt => {
                    self.out.push_str("&lt;");
                    lt + 1
                }
                Lexed::Unterminated => return self.out,
            };
            copied = i;
        }
        self.out.push_str(&self.src[copied..]);
        self.out
    }
}

/// `html` rewritten well nested, at most [`MAX_DEPTH`] elements deep.
pub fn balance(html: &str) -> String {
    Balancer {
        src: html,
        out: String::with_capacity(html.len() + html.len() / 8),
        open: Vec::new(),
        formatting: 0,
    }
    .run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_html_is_unchanged() {
        for html in [
            "<h2>Payments</h2>\n<p>Use <code>POST /charges</code> <em>now</em>.</p>\n",
            "<blockquote>\n<ul>\n<li><p>a <a href=\"x\" title=\"a > b\">b</a></p></li>\n</ul>\n</blockquote>\n",
            "<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>",
            "<p>x<br />y<img src=\"a.png\" alt=\"a\" /></p><hr />",
            "<!-- note --><p>a &lt; b</p><style>p { color: red }</style><script>go()</script>",
            "<details><summary>More</summary><p>Inside</p></details>",
            "a < b and c<>d",
        ] {
            assert_eq!(balance(html), html);
        }
    }

    #[test]
    fn implied_and_missing_end_tags_are_written_out() {
        assert_eq!(
            balance("<ul><li>one<li>two</ul>"),
            "<ul><li>one</li><li>two</li></ul>"
        );
        assert_eq!(
            balance("<p>one<p>two<div>three</div>"),
            "<p>one</p><p>two</p><div>three</div>"
        );
        assert_eq!(
            balance("<p><b>bold</p><p>plain</p>"),
            "<p><b>bold</b></p><p>plain</p>"
        );
        assert_eq!(balance("<div/>x"), "<div/></div>x");
        assert_eq!(balance("</div>x</span>"), "x");
        assert_eq!(
            balance("<table><tr><td>a<td>b<tr><td>c</table>"),
            "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>"
        );
    }

    #[test]
    fn depth_and_formatting_past_the_caps_become_text() {
        let deep = balance(&"<div>".repeat(MAX_DEPTH + 3));
        assert_eq!(deep.matches("<div>").count(), MAX_DEPTH);
        assert_eq!(deep.matches("&lt;div&gt;").count(), 3);
        let bold: String = (0..MAX_FORMATTING + 2)
            .map(|i| format!("<b id={i}>"))
            .collect();
        let out = balance(&bold);
        assert_eq!(out.matches("<b ").count(), MAX_FORMATTING);
        assert_eq!(out.matches("&lt;b ").count(), 2);
    }

    #[test]
    fn nothing_is_hidden_from_the_count() {
        // Raw-text elements with tags inside, CDATA and unterminated comments would
        // make the parser skip tags this pass counted (or the reverse).
        assert_eq!(
            balance("<script>if (a < b) go()</script><div>"),
            "&lt;script&gt;if (a < b) go()<div>"
        );
        assert_eq!(balance("<![CDATA[<div>]]>"), "&lt;![CDATA[<div>]]>");
        assert_eq!(balance("<p>a<!-- b <div>"), "<p>a");
        assert_eq!(balance("<p>a<div title=\"x>"), "<p>a");
        assert_eq!(balance("<!-->x<!--->y"), "<!-->x<!--->y");
        assert_eq!(balance("<plaintext>x"), "&lt;plaintext&gt;x");
    }
}
