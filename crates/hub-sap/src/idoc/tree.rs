//! Any IDoc, as a generic tree: the control record `EDI_DC40` and nested segments with their
//! fields, in document order. No knowledge of message types here.
//!
//! What real IDoc XML looks like, and what is accepted:
//! - one or several `<IDOC BEGIN="1">` elements, under the basic-type root (`<MATMAS05>`), under
//!   any wrapper (a SOAP body, a `<IDOC_ROOT>`), or as the root itself;
//! - namespace prefixes (`<ns0:MATMAS05>`, `<ns0:E1MARAM>`): only local names count;
//! - encodings: UTF-8 (default, BOM allowed), or what the declaration names (ISO-8859-1,
//!   windows-1252, …), decoded to UTF-8 before parsing;
//! - an element with child elements is a segment; one with only text is a field; a field left
//!   empty (`<LOEVM></LOEVM>`, `<LOEVM/>`) is absent;
//! - unknown and custom (`Z*`) segments are kept in the tree like any other.
//!
//! Memory stays bounded: the input size is capped by the caller, and nesting depth and segment
//! count by [`TreeLimits`].

use crate::error::ParseError;
use quick_xml::Reader;
use quick_xml::events::Event;
use std::borrow::Cow;

/// Bounds on the shape of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeLimits {
    /// Deepest element nesting accepted.
    pub max_depth: usize,
    /// Most elements (segments and fields) in one document.
    pub max_elements: usize,
}

impl Default for TreeLimits {
    fn default() -> Self {
        TreeLimits {
            max_depth: 64,
            max_elements: 1_000_000,
        }
    }
}

/// An IDoc segment: its name, its fields (in order) and its child segments (in order).
/// Names and values borrow from the document text where no unescaping was needed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Segment<'a> {
    /// Segment name, e.g. `E1MARAM` (local name, without namespace prefix).
    pub name: Cow<'a, str>,
    /// Fields in document order, values trimmed; empty fields are left out.
    pub fields: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// Child segments in document order.
    pub children: Vec<Segment<'a>>,
}

impl<'a> Segment<'a> {
    /// The value of a field (`None` when absent or blank).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.as_ref() == name)
            .map(|(_, v)| v.as_ref())
    }

    /// Child segments with this name.
    pub fn children<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Segment<'a>> + 's {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first child segment with this name.
    pub fn child(&self, name: &str) -> Option<&Segment<'a>> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// One IDoc: its control record and its data segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idoc<'a> {
    /// The control record's fields (`EDI_DC40`).
    pub control: Segment<'a>,
    /// Top-level data segments.
    pub segments: Vec<Segment<'a>>,
}

impl<'a> Idoc<'a> {
    /// The first top-level segment with this name.
    pub fn segment(&self, name: &str) -> Option<&Segment<'a>> {
        self.segments.iter().find(|s| s.name == name)
    }

    /// Top-level segments with this name.
    pub fn segments<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Segment<'a>> + 's {
        self.segments.iter().filter(move |s| s.name == name)
    }
}

/// A node while parsing; names and text borrow from the input where they can.
#[derive(Default)]
struct Node<'a> {
    name: Cow<'a, str>,
    text: Cow<'a, str>,
    children: Vec<Node<'a>>,
}

impl<'a> Node<'a> {
    fn named(name: Cow<'a, str>) -> Node<'a> {
        Node {
            name,
            ..Node::default()
        }
    }

    /// Appends text. Text of an element that already has children is whitespace between
    /// segments (IDocs have no mixed content) and is dropped.
    fn push_text(&mut self, t: Cow<'a, str>) {
        if !self.children.is_empty() {
            return;
        }
        if self.text.is_empty() {
            self.text = t;
        } else {
            self.text.to_mut().push_str(&t);
        }
    }
}

/// What the parser tracks besides the events.
struct Open<'a> {
    stack: Vec<Node<'a>>,
    elements: usize,
    seen_root: bool,
    limits: TreeLimits,
}

/// A start tag (or an empty element): checks the bounds and the single root, then opens the
/// element (or, empty, adds it to its parent at once).
fn open<'a>(
    state: &mut Open<'a>,
    reader: &Reader<&[u8]>,
    text: &'a str,
    e: &quick_xml::events::BytesStart<'_>,
    empty: bool,
) -> Result<(), ParseError> {
    if state.stack.len() == 1 && state.seen_root {
        return Err(ParseError::Xml {
            position: reader.error_position(),
            reason: "more than one root element".into(),
        });
    }
    state.seen_root = true;
    state.elements += 1;
    if state.elements > state.limits.max_elements {
        return Err(ParseError::TooManySegments {
            limit: state.limits.max_elements,
        });
    }
    let node = Node::named(element_name(text, e));
    if empty {
        if let Some(parent) = state.stack.last_mut() {
            parent.children.push(node);
        }
        return Ok(());
    }
    if state.stack.len() > state.limits.max_depth {
        return Err(ParseError::TooDeep {
            path: path_of(&state.stack),
            limit: state.limits.max_depth,
        });
    }
    state.stack.push(node);
    Ok(())
}

/// The local name (without namespace prefix) of a start tag, borrowed from the input `text`.
fn element_name<'a>(text: &'a str, e: &quick_xml::events::BytesStart<'_>) -> Cow<'a, str> {
    let name = e.name();
    let name = name.as_ref();
    let local = &name[name.iter().rposition(|c| *c == b':').map_or(0, |i| i + 1)..];
    match borrowed(text, local) {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(String::from_utf8_lossy(local).into_owned()),
    }
}

/// Decodes the bytes to UTF-8 by their BOM or XML declaration.
pub fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, ParseError> {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        if had_errors {
            return Err(ParseError::Encoding {
                encoding: enc.name().to_string(),
                reason: "invalid byte sequence".into(),
            });
        }
        return Ok(text);
    }
    let declared = declared_encoding(bytes);
    match declared {
        None => utf8(bytes),
        Some(label) => {
            let enc = encoding_rs::Encoding::for_label(label.as_bytes()).ok_or_else(|| {
                ParseError::Encoding {
                    encoding: label.clone(),
                    reason: "unknown encoding".into(),
                }
            })?;
            if enc == encoding_rs::UTF_8 {
                return utf8(bytes);
            }
            let (text, had_errors) = enc.decode_without_bom_handling(bytes);
            if had_errors {
                return Err(ParseError::Encoding {
                    encoding: label,
                    reason: "invalid byte sequence".into(),
                });
            }
            Ok(text)
        }
    }
}

fn utf8(bytes: &[u8]) -> Result<Cow<'_, str>, ParseError> {
    std::str::from_utf8(bytes)
        .map(Cow::Borrowed)
        .map_err(|e| ParseError::Encoding {
            encoding: "UTF-8".into(),
            reason: e.to_string(),
        })
}

/// The `encoding` of an XML declaration at the start of the bytes.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &bytes[start..];
    if !rest.starts_with(b"<?xml") {
        return None;
    }
    let end = rest.windows(2).take(512).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&rest[..end]).ok()?;
    let at = decl.find("encoding")?;
    let after = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    let close = value.find(quote)?;
    Some(value[..close].trim().to_string())
}

/// Parses IDoc XML text into its IDocs.
pub fn parse(text: &str, limits: TreeLimits) -> Result<Vec<Idoc<'_>>, ParseError> {
    let root = parse_nodes(text, limits)?;
    let mut idocs = Vec::new();
    collect_idocs(root, &mut idocs);
    if idocs.is_empty() {
        return Err(ParseError::NoIdoc);
    }
    idocs
        .into_iter()
        .enumerate()
        .map(|(i, node)| to_idoc(node, i))
        .collect()
}

fn parse_nodes(text: &str, limits: TreeLimits) -> Result<Node<'_>, ParseError> {
    let mut reader = Reader::from_str(text);
    // No trim_text: it would trim each piece of text around an entity reference ("A &lt; 0")
    // separately; fields are trimmed once, whole, when the segment is built.
    let xml_err = |reader: &Reader<&[u8]>, reason: String| ParseError::Xml {
        position: reader.error_position(),
        reason,
    };
    // stack[0] is a synthetic document node.
    let mut state = Open {
        stack: vec![Node::default()],
        elements: 0,
        seen_root: false,
        limits,
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| xml_err(&reader, e.to_string()))?;
        match event {
            Event::Start(e) => open(&mut state, &reader, text, &e, false)?,
            Event::Empty(e) => open(&mut state, &reader, text, &e, true)?,
            Event::End(_) => {
                let node = state
                    .stack
                    .pop()
                    .expect("the reader checks that end tags match");
                match state.stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Err(xml_err(&reader, "unbalanced end tag".into())),
                }
            }
            Event::Text(t) => {
                // Whitespace between segments is dropped before anything is done with it.
                if state.stack.len() > 1
                    && state.stack.last().is_some_and(|n| !n.children.is_empty())
                {
                    continue;
                }
                let raw = match borrowed(text, &t) {
                    Some(s) => Cow::Borrowed(s),
                    None => t.decode().map_err(|e| xml_err(&reader, e.to_string()))?,
                };
                push_text(&mut state.stack, &reader, raw)?;
            }
            Event::CData(t) => {
                let raw = t.decode().map_err(|e| xml_err(&reader, e.to_string()))?;
                if let Some(top) = state.stack.last_mut() {
                    top.push_text(raw);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.decode().map_err(|e| xml_err(&reader, e.to_string()))?;
                        match name.as_ref() {
                            "amp" => "&".into(),
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "quot" => "\"".into(),
                            "apos" => "'".into(),
                            other => {
                                return Err(xml_err(
                                    &reader,
                                    format!("undefined entity &{other};"),
                                ));
                            }
                        }
                    }
                    Err(e) => return Err(xml_err(&reader, e.to_string())),
                };
                if let Some(top) = state.stack.last_mut() {
                    top.push_text(Cow::Owned(resolved));
                }
            }
            Event::DocType(_) => {
                // A DTD could declare entities that expand without bound; IDocs never carry one.
                return Err(xml_err(&reader, "DOCTYPE is not accepted".into()));
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if state.stack.len() != 1 {
        return Err(ParseError::Xml {
            position: text.len() as u64,
            reason: format!(
                "document ends inside <{}>",
                state.stack.last().map(|n| n.name.as_ref()).unwrap_or("")
            ),
        });
    }
    let doc = state.stack.pop().expect("document node");
    if doc.children.is_empty() {
        return Err(ParseError::Xml {
            position: 0,
            reason: "no root element".into(),
        });
    }
    Ok(doc)
}

/// The slice of `text` that `bytes` (part of an event of a reader over `text`) is, without
/// decoding it again: the input is already UTF-8, and names and texts start and end next to
/// ASCII markup (`<`, `>`, `:`, `&`, whitespace), so they fall on character boundaries.
fn borrowed<'a>(text: &'a str, bytes: &[u8]) -> Option<&'a str> {
    let start = (bytes.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    text.get(start..start.checked_add(bytes.len())?)
        .filter(|s| s.as_ptr() == bytes.as_ptr())
}

fn push_text<'a>(
    stack: &mut [Node<'a>],
    reader: &Reader<&[u8]>,
    raw: Cow<'a, str>,
) -> Result<(), ParseError> {
    if stack.len() == 1 {
        if raw.trim().is_empty() {
            return Ok(());
        }
        return Err(ParseError::Xml {
            position: reader.buffer_position(),
            reason: "text outside the root element".into(),
        });
    }
    if let Some(top) = stack.last_mut() {
        top.push_text(raw);
    }
    Ok(())
}

fn path_of(stack: &[Node<'_>]) -> String {
    stack
        .iter()
        .skip(1)
        .map(|n| n.name.as_ref())
        .collect::<Vec<_>>()
        .join(".")
}

/// Moves every `IDOC` element (at any depth, not nested in another) into `out`.
fn collect_idocs<'a>(node: Node<'a>, out: &mut Vec<Node<'a>>) {
    for child in node.children {
        if child.name == "IDOC" {
            out.push(child);
        } else {
            collect_idocs(child, out);
        }
    }
}

fn to_idoc(node: Node<'_>, index: usize) -> Result<Idoc<'_>, ParseError> {
    let mut control = None;
    let mut segments = Vec::new();
    for child in node.children {
        if child.name == "EDI_DC40" || child.name == "EDI_DC" {
            if control.is_none() {
                control = Some(to_segment(child));
            }
        } else if !child.children.is_empty() {
            segments.push(to_segment(child));
        }
    }
    let control = control.ok_or_else(|| ParseError::MissingControlRecord {
        path: format!("IDOC[{index}]"),
    })?;
    Ok(Idoc { control, segments })
}

fn to_segment(node: Node<'_>) -> Segment<'_> {
    let mut seg = Segment {
        name: node.name,
        fields: Vec::new(),
        children: Vec::new(),
    };
    for child in node.children {
        if child.children.is_empty() {
            let value = match child.text {
                Cow::Borrowed(t) => Cow::Borrowed(t.trim()),
                Cow::Owned(t) if t.trim().len() == t.len() => Cow::Owned(t),
                Cow::Owned(t) => Cow::Owned(t.trim().to_string()),
            };
            if !value.is_empty() {
                seg.fields.push((child.name, value));
            }
        } else {
            seg.children.push(to_segment(child));
        }
    }
    seg
}

#[cfg(test)]
mod tests {
    use super::*;

    const MATMAS: &str = include_str!("../../fixtures/matmas05_pump.xml");

    #[test]
    fn parses_the_fixture_into_control_and_segments() {
        // Scenario: the MATMAS05 fixture: one IDoc, its control record, E1MARAM with nested
        // descriptions, plants and valuation, in document order; empty fields absent.
        let idocs = parse(MATMAS, TreeLimits::default()).unwrap();
        assert_eq!(idocs.len(), 1);
        let idoc = &idocs[0];
        assert_eq!(idoc.control.field("DOCNUM"), Some("0000000004711001"));
        let mara = idoc.segment("E1MARAM").unwrap();
        assert_eq!(mara.field("MATNR"), Some("000000000000100234"));
        let kinds: Vec<&str> = mara.children.iter().map(|c| c.name.as_ref()).collect();
        assert_eq!(
            kinds,
            ["E1MAKTM", "E1MAKTM", "E1MARCM", "E1MARCM", "E1MBEWM"]
        );
        assert_eq!(
            mara.children[1].field("MAKTX"),
            Some("Bomba hidráulica HP-200")
        );
    }

    #[test]
    fn namespaces_wrappers_and_several_idocs() {
        // Scenario: prefixed names under a SOAP-like wrapper, two IDocs, entity references and
        // an empty field.
        let xml = r#"<?xml version="1.0"?>
<soap:Envelope xmlns:soap="urn:s"><soap:Body>
 <ns0:MATMAS05 xmlns:ns0="urn:sap">
  <ns0:IDOC BEGIN="1"><ns0:EDI_DC40 SEGMENT="1"><ns0:DOCNUM>1</ns0:DOCNUM></ns0:EDI_DC40>
   <ns0:E1MARAM SEGMENT="1"><ns0:MATNR>A&amp;B</ns0:MATNR><ns0:LVORM/></ns0:E1MARAM></ns0:IDOC>
  <ns0:IDOC BEGIN="1"><ns0:EDI_DC40 SEGMENT="1"><ns0:DOCNUM>2</ns0:DOCNUM></ns0:EDI_DC40>
   <ns0:E1MARAM SEGMENT="1"><ns0:MATNR>&#67;</ns0:MATNR></ns0:E1MARAM></ns0:IDOC>
 </ns0:MATMAS05></soap:Body></soap:Envelope>"#;
        let idocs = parse(xml, TreeLimits::default()).unwrap();
        assert_eq!(idocs.len(), 2);
        assert_eq!(
            idocs[0].segment("E1MARAM").unwrap().field("MATNR"),
            Some("A&B")
        );
        assert_eq!(idocs[0].segment("E1MARAM").unwrap().field("LVORM"), None);
        assert_eq!(idocs[1].control.field("DOCNUM"), Some("2"));
        assert_eq!(
            idocs[1].segment("E1MARAM").unwrap().field("MATNR"),
            Some("C")
        );
    }

    #[test]
    fn names_and_text_borrow_from_the_input() {
        // Scenario: the parser allocates no string for element names or plain text.
        let doc = parse_nodes("<a:B x=\"1\"><C>text</C><D/></a:B>", TreeLimits::default()).unwrap();
        let b = &doc.children[0];
        assert!(matches!(b.name, Cow::Borrowed("B")));
        assert!(matches!(b.children[0].name, Cow::Borrowed("C")));
        assert!(matches!(b.children[0].text, Cow::Borrowed("text")));
        assert!(matches!(b.children[1].name, Cow::Borrowed("D")));
    }

    #[test]
    fn idoc_boundaries_control_records_and_empty_elements() {
        // Scenario: an empty IDOC has no control
        // record; the first EDI_DC40 is the control record and a second is dropped; text
        // directly under IDOC is not a segment; an IDOC nested in an IDoc is a segment; a
        // segment whose only field is empty is still a segment.
        let err = parse("<R><IDOC/></R>", TreeLimits::default()).unwrap_err();
        assert!(matches!(err, ParseError::MissingControlRecord { ref path } if path == "IDOC[0]"));
        let err = parse(
            "<R><IDOC><EDI_DC40><A>1</A></EDI_DC40></IDOC><IDOC><E1X><B>2</B></E1X></IDOC></R>",
            TreeLimits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, ParseError::MissingControlRecord { ref path } if path == "IDOC[1]"));

        let idocs = parse(
            "<IDOC><EDI_DC40><A>1</A></EDI_DC40><EDI_DC40><A>2</A></EDI_DC40><LOOSE>x</LOOSE>\
             <IDOC><E1N><N>3</N></E1N></IDOC><E1E><F/><G>  </G></E1E></IDOC>",
            TreeLimits::default(),
        )
        .unwrap();
        assert_eq!(idocs.len(), 1);
        let idoc = &idocs[0];
        assert_eq!(idoc.control.field("A"), Some("1"));
        let names: Vec<&str> = idoc.segments.iter().map(|s| s.name.as_ref()).collect();
        assert_eq!(names, ["IDOC", "E1E"]);
        assert_eq!(idoc.segments[0].child("E1N").unwrap().field("N"), Some("3"));
        assert!(idoc.segments[1].fields.is_empty());
    }

    #[test]
    fn latin1_is_decoded_by_its_declaration() {
        // Scenario: an ISO-8859-1 document with a non-ASCII byte decodes to the right text.
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><X><IDOC><EDI_DC40><DOCNUM>1</DOCNUM></EDI_DC40><E1KNA1M><NAME1>Metal".to_vec();
        bytes.push(0xFA); // u acute in Latin-1
        bytes.extend_from_slice(b"rgica</NAME1></E1KNA1M></IDOC></X>");
        let text = decode(&bytes).unwrap();
        let idocs = parse(&text, TreeLimits::default()).unwrap();
        assert_eq!(
            idocs[0].segment("E1KNA1M").unwrap().field("NAME1"),
            Some("Metalúrgica")
        );
        // The same bytes without the declaration are not UTF-8.
        let undeclared = &bytes[bytes.iter().position(|b| *b == b'>').unwrap() + 1..];
        assert!(matches!(
            decode(undeclared),
            Err(ParseError::Encoding { .. })
        ));
    }

    #[test]
    fn malformed_and_hostile_documents_fail_cleanly() {
        // Scenario: broken XML, no IDOC, no control record, too deep, DOCTYPE entities: each a
        // typed error, never a panic.
        assert!(matches!(
            parse("<a><b></a>", TreeLimits::default()),
            Err(ParseError::Xml { .. })
        ));
        assert!(matches!(
            parse("<a></a>", TreeLimits::default()),
            Err(ParseError::NoIdoc)
        ));
        assert!(matches!(
            parse(
                "<X><IDOC><E1X><F>1</F></E1X></IDOC></X>",
                TreeLimits::default()
            ),
            Err(ParseError::MissingControlRecord { .. })
        ));
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert!(matches!(
            parse(&deep, TreeLimits::default()),
            Err(ParseError::TooDeep { .. })
        ));
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>"#;
        assert!(matches!(
            parse(bomb, TreeLimits::default()),
            Err(ParseError::Xml { .. })
        ));
        assert!(matches!(
            parse("", TreeLimits::default()),
            Err(ParseError::Xml { .. })
        ));
        assert!(matches!(
            parse("<a/><b/>", TreeLimits::default()),
            Err(ParseError::Xml { .. })
        ));
    }
}
