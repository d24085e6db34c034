//! The flat XML of WeChat's pushes: `<xml><Name><![CDATA[value]]></Name>…</xml>`, read with
//! quick-xml (no hand-written parser).

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::Reader;

use super::CryptoError;

/// The direct children of the root element, by name, as text (CDATA and text joined,
/// entities unescaped). Nested elements are kept as their inner text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlFields(pub BTreeMap<String, String>);

impl XmlFields {
    /// The text of child `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// Reads the direct children of the root element of `xml`.
pub fn xml_fields(xml: &str) -> Result<XmlFields, CryptoError> {
    let mut reader = Reader::from_str(xml);
    let mut fields = BTreeMap::new();
    let mut depth = 0usize;
    let mut current: Option<(String, String)> = None;
    let body = CryptoError::body;
    loop {
        match reader.read_event().map_err(body)? {
            Event::Start(start) => {
                depth += 1;
                if depth == 2 {
                    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                    current = Some((name, String::new()));
                }
            }
            Event::End(_) => {
                if depth == 2 {
                    if let Some((name, text)) = current.take() {
                        fields.insert(name, text);
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Event::Empty(empty) if depth == 1 => {
                let name = String::from_utf8_lossy(empty.name().as_ref()).into_owned();
                fields.insert(name, String::new());
            }
            Event::Text(text) if depth >= 2 => {
                let unescaped = text.unescape().map_err(CryptoError::body)?;
                if let Some((_, value)) = current.as_mut() {
                    value.push_str(&unescaped);
                }
            }
            Event::CData(data) if depth >= 2 => {
                if let Some((_, value)) = current.as_mut() {
                    value.push_str(&String::from_utf8_lossy(&data));
                }
            }
            // A DTD has no place in a push: refused outright, whatever it declares.
            Event::DocType(_) => {
                return Err(CryptoError::Body("a DOCTYPE is refused".into()));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if depth != 0 {
        return Err(CryptoError::Body("unclosed element".into()));
    }
    if fields.is_empty() {
        return Err(CryptoError::Body("no elements below the root".into()));
    }
    Ok(XmlFields(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cdata_text_and_entities() {
        let f = xml_fields(
            "<xml><AppId><![CDATA[wx1]]></AppId><CreateTime>1413192605</CreateTime>\
             <Note>a &amp; b</Note><Empty/></xml>",
        )
        .unwrap();
        assert_eq!(f.get("AppId"), Some("wx1"));
        assert_eq!(f.get("CreateTime"), Some("1413192605"));
        assert_eq!(f.get("Note"), Some("a & b"));
        assert_eq!(f.get("Empty"), Some(""));
    }

    #[test]
    fn refuses_what_is_not_xml() {
        assert!(xml_fields("").is_err());
        assert!(xml_fields("{\"json\":1}").is_err());
        assert!(xml_fields("<xml><A>1</A>").is_err());
    }

    #[test]
    fn refuses_any_doctype() {
        for xml in [
            "<!DOCTYPE xml><xml><A>1</A></xml>",
            "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY e \"x\">]><xml><A>1</A></xml>",
            "<!DOCTYPE xml SYSTEM \"http://example.com/x.dtd\"><xml><A>1</A></xml>",
        ] {
            assert_eq!(
                xml_fields(xml),
                Err(CryptoError::Body("a DOCTYPE is refused".into())),
                "{xml}"
            );
        }
    }
}
