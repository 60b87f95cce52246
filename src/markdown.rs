//! Product documentation: Markdown rendered to HTML and then sanitised, so content
//! written by an admin can never run script in a visitor's browser (the CSP forbids
//! inline script as a second line of defence). Headings move down one level (`#` is
//! an `<h2>`): the page's own title is its only `<h1>`.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};

fn one_level_down(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H2,
        HeadingLevel::H2 => HeadingLevel::H3,
        HeadingLevel::H3 => HeadingLevel::H4,
        HeadingLevel::H4 => HeadingLevel::H5,
        HeadingLevel::H5 | HeadingLevel::H6 => HeadingLevel::H6,
    }
}

/// Markdown → sanitised HTML, headings one level down.
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let mut unsafe_html = String::with_capacity(markdown.len() * 2);
    let events = Parser::new_ext(markdown, options).map(|event| match event {
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
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        // A raw-HTML `<h1>` keeps its text but not its rank.
        .rm_tags(["h1"])
        .clean(&unsafe_html)
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
