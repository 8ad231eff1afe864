//! Just enough XML for WeCom's callback documents: elements, text, CDATA sections, the five
//! predefined entities and numeric character references, comments and a prolog. No
//! attributes are needed (they are skipped), no DTD is accepted (no entity expansion).

use super::IntakeError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The text of the first child with this name.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.children
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.text.as_str())
    }
}

const MAX_DEPTH: usize = 16;

fn err(msg: impl Into<String>) -> IntakeError {
    IntakeError::Xml(msg.into())
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

pub(crate) fn parse(s: &str) -> Result<Element, IntakeError> {
    let mut p = Parser { s, pos: 0 };
    p.skip_misc()?;
    let root = p.element(0)?;
    p.skip_misc()?;
    if p.pos != s.len() {
        return Err(err("content after the root element"));
    }
    Ok(root)
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn skip_ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }

    fn skip_past(&mut self, end: &str, what: &str) -> Result<&'a str, IntakeError> {
        let r = self.rest();
        let i = r
            .find(end)
            .ok_or_else(|| err(format!("unterminated {what}")))?;
        self.pos += i + end.len();
        Ok(&r[..i])
    }

    /// Whitespace, comments and processing instructions (the prolog).
    fn skip_misc(&mut self) -> Result<(), IntakeError> {
        loop {
            self.skip_ws();
            if self.rest().starts_with("<?") {
                self.skip_past("?>", "processing instruction")?;
            } else if self.rest().starts_with("<!--") {
                self.skip_past("-->", "comment")?;
            } else if self.rest().starts_with("<!") && !self.rest().starts_with("<![CDATA[") {
                return Err(err("DTDs are not accepted"));
            } else {
                return Ok(());
            }
        }
    }

    fn name(&mut self) -> Result<&'a str, IntakeError> {
        let r = self.rest();
        let end = r
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .ok_or_else(|| err("unterminated tag"))?;
        if end == 0 {
            return Err(err("empty element name"));
        }
        self.pos += end;
        Ok(&r[..end])
    }

    fn element(&mut self, depth: usize) -> Result<Element, IntakeError> {
        if depth > MAX_DEPTH {
            return Err(err("elements nested too deeply"));
        }
        if !self.rest().starts_with('<') {
            return Err(err("expected an element"));
        }
        self.pos += 1;
        let name = self.name()?.to_string();
        // Attributes are not used by WeCom; skip them (quoted values may hold '>').
        loop {
            self.skip_ws();
            let r = self.rest();
            if r.starts_with("/>") {
                self.pos += 2;
                return Ok(Element {
                    name,
                    text: String::new(),
                    children: vec![],
                });
            }
            if r.starts_with('>') {
                self.pos += 1;
                break;
            }
            let q = r
                .find(['"', '\''])
                .ok_or_else(|| err(format!("bad attribute in <{name}>")))?;
            let quote = &r[q..q + 1];
            self.pos += q + 1;
            self.skip_past(quote, "attribute value")?;
        }
        let mut text = String::new();
        let mut children = Vec::new();
        loop {
            let r = self.rest();
            if r.is_empty() {
                return Err(err(format!("<{name}> is not closed")));
            }
            if let Some(cdata) = r.strip_prefix("<![CDATA[") {
                let end = cdata.find("]]>").ok_or_else(|| err("unterminated CDATA"))?;
                text.push_str(&cdata[..end]);
                self.pos += 9 + end + 3;
            } else if r.starts_with("<!--") {
                self.skip_past("-->", "comment")?;
            } else if let Some(close) = r.strip_prefix("</") {
                let end = close.find('>').ok_or_else(|| err("unterminated end tag"))?;
                if close[..end].trim() != name {
                    return Err(err(format!("<{name}> closed by </{}>", &close[..end])));
                }
                self.pos += 2 + end + 1;
                return Ok(Element {
                    name,
                    text,
                    children,
                });
            } else if r.starts_with('<') {
                children.push(self.element(depth + 1)?);
            } else {
                let end = r.find('<').unwrap_or(r.len());
                text.push_str(&unescape(&r[..end])?);
                self.pos += end;
            }
        }
    }
}

fn unescape(s: &str) -> Result<String, IntakeError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after.find(';').ok_or_else(|| err("unterminated entity"))?;
        let ent = &after[..end];
        let c = match ent {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code =
                    if let Some(h) = ent.strip_prefix("#x").or_else(|| ent.strip_prefix("#X")) {
                        u32::from_str_radix(h, 16).ok()
                    } else if let Some(d) = ent.strip_prefix('#') {
                        d.parse::<u32>().ok()
                    } else {
                        None
                    };
                code.and_then(char::from_u32)
                    .ok_or_else(|| err(format!("unknown entity &{ent};")))?
            }
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Text as a CDATA section (a `]]>` inside is split across two sections).
pub(crate) fn cdata(s: &str) -> String {
    format!("<![CDATA[{}]]>", s.replace("]]>", "]]]]><![CDATA[>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wecom_shapes() {
        let e = parse(
            "<?xml version=\"1.0\"?>\n<xml><A><![CDATA[x<y]]></A><B>1 &amp; &#25105;&#x4e00;</B><C/>\
             <D attr=\"a>b\"><E>in</E></D><!-- c --></xml>",
        )
        .unwrap();
        assert_eq!(e.name, "xml");
        assert_eq!(e.child_text("A"), Some("x<y"));
        assert_eq!(e.child_text("B"), Some("1 & 我一"));
        assert_eq!(e.child_text("C"), Some(""));
        assert_eq!(e.children[3].child_text("E"), Some("in"));
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "<xml><A>x</B></xml>",
            "<xml><A>x</A>",
            "<xml>&foo;</xml>",
            "<!DOCTYPE x [<!ENTITY a \"b\">]><xml/>",
            "<xml/><xml/>",
            "<xml><![CDATA[x</xml>",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn cdata_round_trip() {
        let s = "a]]>b";
        let doc = format!("<xml><A>{}</A></xml>", cdata(s));
        assert_eq!(parse(&doc).unwrap().child_text("A"), Some(s));
    }
}
