//! Product documentation: Markdown rendered to HTML and then sanitised, so content
//! written by an admin can never run script in a visitor's browser (the CSP forbids
//! inline script as a second line of defence). Headings move down one level (`#` is
//! an `<h2>`): the page's own title is its only `<h1>`.
//!
//! Rendering takes time linear in the text, whatever the text: a line opens at most
//! [`MAX_NESTING`] block quotes and list items ([`nesting`]), and the HTML handed to
//! the sanitiser is well nested and at most [`MAX_DEPTH`] elements deep ([`balance`]),
//! because the sanitiser's parser costs time in proportion to the depth at every
//! block it opens. It is still work in proportion to 200 KB of text: callers render
//! when documentation is saved and store the result, on a blocking thread, never on an
//! HTTP worker and never while holding a database connection.

mod balance;
mod nesting;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};

pub use balance::{MAX_DEPTH, MAX_FORMATTING};
pub use nesting::MAX_NESTING;

fn one_level_down(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H2,
        HeadingLevel::H2 => HeadingLevel::H3,
        HeadingLevel::H3 => HeadingLevel::H4,
        HeadingLevel::H4 => HeadingLevel::H5,
        HeadingLevel::H5 | HeadingLevel::H6 => HeadingLevel::H6,
    }
}

/// Is this thread one of the HTTP server's workers (actix names them)? Rendering
/// there would stall every request the worker serves.
fn on_http_worker() -> bool {
    std::thread::current().name().is_some_and(|name| {
        name.starts_with("actix-server worker") || name.starts_with("actix-rt|system:")
    })
}

#[cfg(test)]
thread_local! {
    static RENDERS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many times this thread has rendered (tests count the work callers cause).
#[cfg(test)]
pub(crate) fn renders_on_this_thread() -> usize {
    RENDERS.with(std::cell::Cell::get)
}

/// Markdown → sanitised HTML, headings one level down. Blocking work: call it from a
/// blocking thread (debug builds panic on an HTTP worker).
pub fn render(markdown: &str) -> String {
    debug_assert!(
        !on_http_worker(),
        "Markdown is rendered off the HTTP workers (web::block), never on them"
    );
    #[cfg(test)]
    RENDERS.with(|n| n.set(n.get() + 1));
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let source = nesting::cap_nesting(markdown);
    let mut unsafe_html = String::with_capacity(source.len() * 2);
    let events = Parser::new_ext(&source, options).map(|event| match event {
        Event::Start(Tag::Heading {
            level,
            id,
            classes,
            attrs,
        }) => Event::Start(Tag::Heading {
            level: one_level_down(level),
            id,
            classes,
            attrs,
        }),
        Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(one_level_down(level))),
        other => other,
    });
    html::push_html(&mut unsafe_html, events);
    let balanced = balance::balance(&unsafe_html);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        // A raw-HTML `<h1>` keeps its text but not its rank.
        .rm_tags(["h1"])
        .clean(&balanced)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown() {
        let html =
            render("# Payments API\n\nUse `POST /charges`.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n");
        assert!(html.contains("<h2>Payments API</h2>"), "{html}");
        assert!(html.contains("<code>POST /charges</code>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
        // Raw HTML wrapped around Markdown, closed in a later block, stays wrapped.
        let html = render("<details>\n<summary>More</summary>\n\nSome *text*.\n\n</details>\n");
        assert!(
            html.contains("<summary>More</summary>\n<p>Some <em>text</em>.</p>\n</details>"),
            "{html}"
        );
    }

    #[test]
    fn headings_move_down_one_level_and_stop_at_h6() {
        let html = render("# One\n\n## Two\n\n##### Five\n\n###### Six\n\nTitle\n=====\n");
        assert!(!html.contains("<h1"), "{html}");
        assert!(html.contains("<h2>One</h2>"), "{html}");
        assert!(html.contains("<h3>Two</h3>"), "{html}");
        assert!(html.contains("<h6>Five</h6>"), "{html}");
        assert!(html.contains("<h6>Six</h6>"), "{html}");
        assert!(html.contains("<h2>Title</h2>"), "{html}");
        assert!(
            !render("<h1>raw</h1>").contains("<h1"),
            "raw HTML headings too"
        );
    }

    /// The deepest nesting of elements in sanitised (so well-formed) HTML.
    fn depth(html: &str) -> usize {
        const VOID: &[&str] = &["br", "hr", "img", "input", "wbr", "col", "area"];
        let (mut depth, mut deepest) = (0usize, 0);
        for tag in html.split('<').skip(1) {
            if let Some(rest) = tag.strip_prefix('/') {
                if !VOID.iter().any(|v| rest.starts_with(v)) {
                    depth = depth.saturating_sub(1);
                }
            } else if tag.starts_with(|c: char| c.is_ascii_alphabetic()) {
                let name: String = tag
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
                if !VOID.contains(&name.as_str())
                    && !tag.split('>').next().unwrap_or("").ends_with('/')
                {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
            }
        }
        deepest
    }

    /// The largest documentation a product may have.
    const LIMIT: usize = 200_000;

    /// The worst inputs found, each made `n` bytes long (about).
    fn worst(n: usize) -> Vec<(&'static str, String)> {
        let bold_ids: String = (0..n / 12).map(|i| format!("<b id={i}>")).collect();
        let p_b_ids: String = (0..n / 17).map(|i| format!("<p><b id={i}></p>")).collect();
        let mut refs = format!("[a]: https://example.com/{}\n\n", "x".repeat(1000));
        refs.push_str(&"[a] ".repeat(n / 4));
        let footnotes: String = (0..n / 17)
            .map(|i| format!("[^{i}]: [^{}]\n", i + 1))
            .collect();
        vec![
            ("deep quotes", format!("{} x", ">".repeat(n))),
            ("spaced quotes", format!("{}x", "> ".repeat(n / 2))),
            ("nested bullets", format!("{}x", "- ".repeat(n / 2))),
            ("nested ordered lists", format!("{}x", "1. ".repeat(n / 3))),
            ("lists in quotes", format!("{}x", "> - ".repeat(n / 4))),
            (
                "indented lists",
                (0..)
                    .map(|d| format!("{}- a\n", "  ".repeat(d)))
                    .take_while({
                        let mut len = 0;
                        move |line: &String| {
                            len += line.len();
                            len <= n
                        }
                    })
                    .collect(),
            ),
            (
                "emphasis run",
                format!("{}a{}", "*".repeat(n / 2), "*".repeat(n / 2)),
            ),
            (
                "nested emphasis",
                format!("{}b{}", "*a _".repeat(n / 8), "a_ a*".repeat(n / 10)),
            ),
            ("open brackets", "[".repeat(n)),
            ("unclosed links", "[a](".repeat(n / 4)),
            (
                "nested links",
                format!("{}a{}", "[".repeat(n / 2), "](x)".repeat(n / 8)),
            ),
            ("reference links", refs),
            ("footnotes", footnotes),
            ("raw divs", "<div>".repeat(n / 5)),
            ("raw bold with ids", bold_ids),
            ("reopened bold", p_b_ids),
            (
                "emphasis around divs",
                format!("{}{}", "*a _".repeat(n / 12), "<div>".repeat(n / 10)),
            ),
            (
                "unterminated attributes",
                format!("<div>\n{}", "<a b=\"".repeat(n / 6)),
            ),
            (
                "unclosed styles",
                format!("<div>\n{}", "<style>x".repeat(n / 8)),
            ),
            (
                "unclosed comments",
                format!("<div>\n{}", "<!--".repeat(n / 4)),
            ),
        ]
    }

    #[test]
    fn two_hundred_thousand_quote_markers_nest_no_deeper_than_the_cap() {
        let html = render(&format!("{} x", ">".repeat(LIMIT)));
        // The blockquotes and their paragraph; the markers past the cap are its text.
        assert_eq!(depth(&html), MAX_NESTING + 1, "{}", &html[..2000]);
        assert_eq!(html.matches("<blockquote>").count(), MAX_NESTING);
        assert_eq!(html.matches("&gt;").count(), LIMIT - MAX_NESTING);
        assert!(html.contains(" x</p>"), "{}", &html[html.len() - 200..]);
    }

    #[test]
    fn the_worst_inputs_stay_shallow_and_grow_in_proportion_to_their_length() {
        // Half the limit and an eighth of it: the same shapes, in less test time.
        let small = worst(LIMIT / 8);
        for (name, big) in worst(LIMIT / 2) {
            let quarter = &small.iter().find(|(n, _)| *n == name).unwrap().1;
            let (out, out_quarter) = (render(&big), render(quarter));
            assert!(
                depth(&out) <= 2 * MAX_DEPTH,
                "{name}: nests {} deep",
                depth(&out)
            );
            // Four times the text, about four times the HTML (quadratic would be 16).
            assert!(
                out.len() <= 5 * out_quarter.len() + 4096,
                "{name}: {} bytes from {}, {} from {}",
                out.len(),
                big.len(),
                out_quarter.len(),
                quarter.len()
            );
            assert!(out.len() <= 8 * LIMIT, "{name}: {} bytes", out.len());
        }
    }

    #[test]
    fn a_table_padded_to_many_columns_stays_bounded() {
        // Every short row is padded to the header's hundred cells (the Markdown
        // parser stops padding after a fixed budget of cells, whatever the length).
        let mut table = format!("{}|\n{}|\n", "|a".repeat(100), "|-".repeat(100));
        table.push_str(&"x\n".repeat((LIMIT - table.len()) / 2));
        let html = render(&table);
        assert_eq!(depth(&html), 4);
        assert!(html.len() <= 16 * LIMIT, "{} bytes", html.len());
    }

    #[test]
    fn the_http_workers_are_recognised_by_their_thread_names() {
        let named = |name: &str| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(on_http_worker)
                .unwrap()
                .join()
                .unwrap()
        };
        // Without an actix System (tests), and with one (the server).
        assert!(named("actix-server worker 0"));
        assert!(named("actix-rt|system:0|arbiter:1"));
        assert!(!named("tokio-runtime-worker"));
        assert!(!on_http_worker());
    }

    #[test]
    fn hostile_content_cannot_run_script() {
        let hostile = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<svg onload=alert(1)>",
            "<div style=\"background:url(javascript:alert(1))\">x</div>",
            "<form action=\"https://evil.example\"><input name=p></form>",
            "![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "<object data=\"x.swf\"></object><embed src=\"x\">",
            "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">",
        ];
        for input in hostile {
            let out = render(input).to_lowercase();
            for bad in [
                "<script",
                "onerror",
                "onload",
                "javascript:",
                "<iframe",
                "<svg",
                "style=",
                "<form",
                "data:text",
                "<object",
                "<embed",
                "<meta",
            ] {
                assert!(!out.contains(bad), "{input:?} rendered {out:?}");
            }
        }
        let link = render("[docs](https://docs.example.com)");
        assert!(
            link.contains("rel=\"noopener noreferrer nofollow\""),
            "{link}"
        );
    }
}
