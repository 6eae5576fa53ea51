//! Text for the two sinks that write a string into HTML as it is: `leptos_meta`'s `<title>`
//! (the formatter's result) and tachys' `<textarea>` children (`ESCAPE_CHILDREN = false`).
//! Everything else tachys renders is escaped by tachys itself.

/// `text` made safe for those sinks on the server. In the browser the same values are set
/// through the DOM (`document.title`, a text node), which needs no escaping, so the client
/// bundle passes the text through unchanged.
pub fn raw_text(text: &str) -> String {
    if cfg!(feature = "ssr") {
        html_escape::encode_text(text).into_owned()
    } else {
        text.to_string()
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::raw_text;

    #[test]
    fn closes_no_element() {
        let out = raw_text("</title><img src=x onerror=alert(1)>&");
        assert!(!out.contains('<') && !out.contains('>'), "{out}");
        assert_eq!(out, "&lt;/title&gt;&lt;img src=x onerror=alert(1)&gt;&amp;");
    }
}
