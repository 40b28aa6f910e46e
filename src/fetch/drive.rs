//! Google Drive's answers to a download request. A small file comes at once; a
//! large one (CelebA's images) first gets an HTML page: a virus-scan warning
//! with a form or a `confirm=` link to follow, or a refusal when the file's
//! download quota is used up. These pages are read here, without network.

/// What a Drive HTML page asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// Ask again at this URL (the confirmation form or link).
    Confirm(String),
    /// Drive refuses: too many downloads of this file lately.
    Quota,
    /// A page runner does not recognise (sign-in, removed file, ...).
    Unknown,
}

/// Reads a Drive HTML `page` that `page_url` returned for file `id`.
pub fn read_page(page: &str, page_url: &str, id: &str) -> Page {
    let lower = page.to_ascii_lowercase();
    if lower.contains("quota exceeded")
        || lower.contains("too many users have viewed or downloaded this file recently")
    {
        return Page::Quota;
    }
    if let Some(url) = form_url(page, page_url) {
        return Page::Confirm(url);
    }
    if let Some(token) = confirm_token(page) {
        let base = page_url.split('?').next().unwrap_or(page_url);
        return Page::Confirm(format!("{base}?export=download&confirm={token}&id={id}"));
    }
    Page::Unknown
}

/// The URL the `download-form` submits to: its action with its hidden inputs
/// as the query (the virus-scan page of large files).
fn form_url(page: &str, page_url: &str) -> Option<String> {
    let start = page.find("id=\"download-form\"")?;
    let form_open = page[..start].rfind("<form")?;
    let end = page[form_open..]
        .find("</form>")
        .map_or(page.len(), |e| form_open + e);
    let form = &page[form_open..end];
    let tag_end = form.find('>').unwrap_or(form.len());
    let action = unescape(&attribute(&form[..tag_end], "action")?);
    let mut query = Vec::new();
    let mut rest = &form[tag_end..];
    while let Some(i) = rest.find("<input") {
        let tag_len = rest[i..].find('>').unwrap_or(rest.len() - i);
        let tag = &rest[i..i + tag_len];
        if attribute(tag, "type").as_deref() == Some("hidden") {
            if let Some(name) = attribute(tag, "name") {
                let value = unescape(&attribute(tag, "value").unwrap_or_default());
                query.push(format!("{}={}", encode(&unescape(&name)), encode(&value)));
            }
        }
        rest = &rest[i + tag_len..];
    }
    let action = absolute(&action, page_url);
    let sep = if action.contains('?') { '&' } else { '?' };
    Some(if query.is_empty() {
        action
    } else {
        format!("{action}{sep}{}", query.join("&"))
    })
}

/// The token of an old-style `confirm=TOKEN` link.
fn confirm_token(page: &str) -> Option<String> {
    let i = page.find("confirm=")? + "confirm=".len();
    let token: String = page[i..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    (!token.is_empty()).then_some(token)
}

/// The value of attribute `name` in an HTML tag (double or single quotes).
fn attribute(tag: &str, name: &str) -> Option<String> {
    for quote in ['"', '\''] {
        let key = format!("{name}={quote}");
        let mut from = 0;
        while let Some(i) = tag[from..].find(&key) {
            let at = from + i;
            // A whole attribute name, not the end of a longer one.
            let whole = at == 0 || tag.as_bytes()[at - 1].is_ascii_whitespace();
            let value_start = at + key.len();
            if whole {
                let len = tag[value_start..].find(quote)?;
                return Some(tag[value_start..value_start + len].to_string());
            }
            from = value_start;
        }
    }
    None
}

/// Undoes the HTML escapes Drive's pages use in URLs and values.
fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// Percent-encodes a query value (letters, digits and `-_.~` stay).
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `action` made absolute against the page's URL (`/path` keeps the scheme and
/// host; an absolute URL is kept).
fn absolute(action: &str, page_url: &str) -> String {
    if action.starts_with("http://") || action.starts_with("https://") {
        return action.to_string();
    }
    let after_scheme = page_url.find("://").map_or(0, |i| i + 3);
    let host_end = page_url[after_scheme..]
        .find('/')
        .map_or(page_url.len(), |i| after_scheme + i);
    if action.starts_with('/') {
        format!("{}{action}", &page_url[..host_end])
    } else {
        let dir_end = page_url
            .rfind('/')
            .filter(|&i| i >= host_end)
            .unwrap_or(host_end);
        format!("{}/{action}", &page_url[..dir_end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE_URL: &str = "https://drive.google.com/uc?export=download&id=ABC";

    #[test]
    fn virus_scan_form_becomes_its_action_with_hidden_inputs() {
        let page = r#"<html><body><p>Google Drive can't scan this file for viruses.</p>
<form id="download-form" action="https://drive.usercontent.google.com/download" method="get">
<input type="submit" id="uc-download-link" value="Download anyway"/>
<input type="hidden" name="id" value="ABC">
<input type="hidden" name="export" value="download">
<input type="hidden" name="confirm" value="t">
<input type="hidden" name="uuid" value="1f2e-3d&amp;4">
</form></body></html>"#;
        assert_eq!(
            read_page(page, PAGE_URL, "ABC"),
            Page::Confirm(
                "https://drive.usercontent.google.com/download?id=ABC&export=download&confirm=t&uuid=1f2e-3d%264"
                    .into()
            )
        );
    }

    #[test]
    fn relative_form_action_keeps_the_host() {
        let page = r#"<form method="get" id="download-form" action="/download?x=1"><input type="hidden" name="confirm" value="t"></form>"#;
        assert_eq!(
            read_page(
                page,
                "http://127.0.0.1:8080/uc?export=download&id=ABC",
                "ABC"
            ),
            Page::Confirm("http://127.0.0.1:8080/download?x=1&confirm=t".into())
        );
    }

    #[test]
    fn old_confirm_link_is_followed() {
        let page = r#"<a id="uc-download-link" href="/uc?export=download&amp;confirm=Ab_9-z&amp;id=ABC">Download anyway</a>"#;
        assert_eq!(
            read_page(page, PAGE_URL, "ABC"),
            Page::Confirm(
                "https://drive.google.com/uc?export=download&confirm=Ab_9-z&id=ABC".into()
            )
        );
    }

    #[test]
    fn quota_and_unknown_pages() {
        let quota = "<title>Google Drive - Quota exceeded</title><p>Too many users have viewed or downloaded this file recently.</p>";
        assert_eq!(read_page(quota, PAGE_URL, "ABC"), Page::Quota);
        assert_eq!(
            read_page("<html>Sign in</html>", PAGE_URL, "ABC"),
            Page::Unknown
        );
    }
}
