//! SCIM filters (RFC 7644 §3.4.2.2): parsed into a tree, evaluated against a resource as its
//! JSON. `eq ne co sw ew gt lt ge le pr`, `and`, `or`, `not (...)`, parentheses and value paths
//! (`emails[type eq "work"].value`, `members[value eq "..."]`). Attribute names are matched
//! without regard to case; string values too, but for `id`, `externalId` and a member's `value`
//! (an id: case-exact).

use serde_json::Value;

use super::ScimError;

/// An attribute path: `[urn:...:]name[.sub]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN, when the path names one.
    pub urn: Option<String>,
    /// The attribute.
    pub attr: String,
    /// The sub-attribute.
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses `text` as an attribute path.
    pub fn parse(text: &str) -> Result<Self, ScimError> {
        let bad = || ScimError::invalid_path(format!("{text:?} is not an attribute path"));
        // A URN prefix ends at the last ':' before the attribute.
        let (urn, rest) = match text.rfind(':') {
            Some(i) if text[..i].to_ascii_lowercase().starts_with("urn:") => {
                (Some(text[..i].to_owned()), &text[i + 1..])
            }
            Some(_) => return Err(bad()),
            None => (None, text),
        };
        let (attr, sub) = match rest.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (rest, None),
        };
        let name_ok = |n: &str| {
            !n.is_empty()
                && n.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
        };
        if !name_ok(attr) || sub.is_some_and(|s| !name_ok(s)) {
            return Err(bad());
        }
        Ok(Self {
            urn,
            attr: attr.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }

    /// Whether the values the path names are compared case-exactly: ids — `id`, `externalId`,
    /// a member's `value` (`members.value`, or `value` within `members[...]` when
    /// `in_members`).
    fn case_exact(&self, in_members: bool) -> bool {
        let is = |name: &str, wanted: &str| name.eq_ignore_ascii_case(wanted);
        match self.sub.as_deref() {
            None => {
                is(&self.attr, "id")
                    || is(&self.attr, "externalId")
                    || (in_members && is(&self.attr, "value"))
            }
            Some(sub) => is(&self.attr, "members") && is(sub, "value"),
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Lt,
    Ge,
    Le,
}

impl Op {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "lt" => Self::Lt,
            "ge" => Self::Ge,
            "le" => Self::Le,
            _ => return None,
        })
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `path op value`.
    Compare(AttrPath, Op, Value),
    /// `path pr`.
    Present(AttrPath),
    /// `a and b`.
    And(Box<Filter>, Box<Filter>),
    /// `a or b`.
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`.
    Not(Box<Filter>),
    /// `attr[filter]`: some value of the multi-valued `attr` matches.
    ValuePath(AttrPath, Box<Filter>),
}

/// The longest filter read, in bytes.
const MAX_FILTER: usize = 4096;
/// The deepest nesting of parentheses and value paths.
const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
}

fn tokens(text: &str) -> Result<Vec<Token>, ScimError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => out.push(Token::Open),
            ')' => out.push(Token::Close),
            '[' => out.push(Token::OpenBracket),
            ']' => out.push(Token::CloseBracket),
            '"' => {
                // A JSON string, escapes and all.
                let mut end = None;
                let mut escaped = false;
                for (j, d) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == '"' {
                        end = Some(j);
                        break;
                    }
                }
                let end = end.ok_or_else(|| ScimError::invalid_filter("a string is not closed"))?;
                let s: String = serde_json::from_str(&text[i..=end])
                    .map_err(|_| ScimError::invalid_filter("a string is not valid JSON"))?;
                out.push(Token::Str(s));
            }
            _ => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_whitespace() || matches!(d, '(' | ')' | '[' | ']' | '"') {
                        break;
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                out.push(Token::Word(text[i..end].to_owned()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn deeper(&mut self) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ScimError::invalid_filter("the filter is nested too deeply"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.next();
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.next();
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        if self.keyword("not") {
            self.next();
            if self.next() != Some(Token::Open) {
                return Err(ScimError::invalid_filter("not must be followed by ( ... )"));
            }
            let inner = self.group()?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Token::Open) {
            self.next();
            return self.group();
        }
        self.attribute()
    }

    /// The rest of `( ... )`, its `(` read.
    fn group(&mut self) -> Result<Filter, ScimError> {
        self.deeper()?;
        let inner = self.or()?;
        if self.next() != Some(Token::Close) {
            return Err(ScimError::invalid_filter("a ( is not closed"));
        }
        self.depth -= 1;
        Ok(inner)
    }

    fn attribute(&mut self) -> Result<Filter, ScimError> {
        let Some(Token::Word(word)) = self.next() else {
            return Err(ScimError::invalid_filter("an attribute was expected"));
        };
        if self.peek() == Some(&Token::OpenBracket) {
            self.next();
            self.deeper()?;
            let path = AttrPath::parse(&word)?;
            let inner = self.or()?;
            if self.next() != Some(Token::CloseBracket) {
                return Err(ScimError::invalid_filter("a [ is not closed"));
            }
            self.depth -= 1;
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        let path = AttrPath::parse(&word)?;
        let Some(Token::Word(op)) = self.next() else {
            return Err(ScimError::invalid_filter(format!(
                "an operator was expected after {word}"
            )));
        };
        if op.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = Op::parse(&op)
            .ok_or_else(|| ScimError::invalid_filter(format!("{op:?} is not an operator")))?;
        let value = match self.next() {
            Some(Token::Str(s)) => Value::String(s),
            Some(Token::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => serde_json::from_str::<serde_json::Number>(&w)
                    .map(Value::Number)
                    .map_err(|_| ScimError::invalid_filter(format!("{w:?} is not a value")))?,
            },
            _ => return Err(ScimError::invalid_filter("a value was expected")),
        };
        Ok(Filter::Compare(path, op, value))
    }
}

impl Filter {
    /// Parses a filter.
    pub fn parse(text: &str) -> Result<Self, ScimError> {
        if text.len() > MAX_FILTER {
            return Err(ScimError::invalid_filter(format!(
                "the filter is longer than {MAX_FILTER} bytes"
            )));
        }
        let mut p = Parser {
            tokens: tokens(text)?,
            at: 0,
            depth: 0,
        };
        let f = p.or()?;
        if p.at != p.tokens.len() {
            return Err(ScimError::invalid_filter(
                "the filter goes on after its end",
            ));
        }
        Ok(f)
    }

    /// The `userName` a match must equal (whatever its case), when the filter says one:
    /// `userName eq "..."`, alone or as a side of an `and`. An identity provider asks this before
    /// each user it creates; the user is then read by name, not found among every user.
    #[must_use]
    pub fn user_name(&self) -> Option<&str> {
        match self {
            Self::Compare(path, Op::Eq, Value::String(name))
                if path.urn.is_none()
                    && path.sub.is_none()
                    && path.attr.eq_ignore_ascii_case("userName") =>
            {
                Some(name)
            }
            Self::And(a, b) => a.user_name().or_else(|| b.user_name()),
            _ => None,
        }
    }

    /// Whether the filter reads the attribute `attr` (of any schema, whole or a
    /// sub-attribute): a list filtered so must hold it, whether it shows it or not.
    #[must_use]
    pub fn mentions(&self, attr: &str) -> bool {
        match self {
            Self::Compare(path, ..) | Self::Present(path) => path.attr.eq_ignore_ascii_case(attr),
            Self::ValuePath(path, inner) => {
                path.attr.eq_ignore_ascii_case(attr) || inner.mentions(attr)
            }
            Self::And(a, b) | Self::Or(a, b) => a.mentions(attr) || b.mentions(attr),
            Self::Not(a) => a.mentions(attr),
        }
    }

    /// Whether `resource` (its JSON) matches.
    #[must_use]
    pub fn matches(&self, resource: &Value) -> bool {
        self.matches_in(resource, false)
    }

    /// Whether a value of the multi-valued attribute `attr` matches: the filter of `attr[...]`.
    #[must_use]
    pub fn matches_value_of(&self, attr: &str, value: &Value) -> bool {
        self.matches_in(value, attr.eq_ignore_ascii_case("members"))
    }

    /// [`Self::matches`], within `members[...]` when `in_members`: a member's `value` is its
    /// id, compared case-exactly (`members.value` too).
    fn matches_in(&self, resource: &Value, in_members: bool) -> bool {
        let exact = |path: &AttrPath| path.case_exact(in_members);
        let holds = |f: &Self| f.matches_in(resource, in_members);
        match self {
            Self::And(a, b) => holds(a) && holds(b),
            Self::Or(a, b) => holds(a) || holds(b),
            Self::Not(a) => !holds(a),
            Self::Present(path) => values_at(resource, path)
                .iter()
                .any(|v| !matches!(v, Value::Null) && v != &&Value::Array(vec![])),
            Self::Compare(path, op, value) => {
                let found = values_at(resource, path);
                match op {
                    // `ne` holds when no value equals (and when there is none).
                    Op::Ne => !found.iter().any(|v| compare(v, Op::Eq, value, exact(path))),
                    _ => found.iter().any(|v| compare(v, *op, value, exact(path))),
                }
            }
            Self::ValuePath(path, inner) => member(resource, path)
                .map(elements)
                .unwrap_or_default()
                .iter()
                .any(|element| {
                    let v = match &path.sub {
                        Some(sub) => member(element, &AttrPath::simple(sub)).cloned(),
                        None => Some((*element).clone()),
                    };
                    v.is_some_and(|v| inner.matches_value_of(&path.attr, &v))
                }),
        }
    }
}

impl AttrPath {
    /// A path of one plain attribute.
    #[must_use]
    pub fn simple(attr: &str) -> Self {
        Self {
            urn: None,
            attr: attr.to_owned(),
            sub: None,
        }
    }
}

/// The member of an object named `name`, whatever its case.
pub(crate) fn field<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The attribute `path.attr` of `resource`, under its URN's extension object when it names one
/// that is not the resource's core schema.
pub(crate) fn member<'a>(resource: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    if let Some(urn) = &path.urn {
        if let Some(extension) = field(resource, urn) {
            return field(extension, &path.attr);
        }
    }
    field(resource, &path.attr)
}

fn elements(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// Every value `path` names in `resource`: a multi-valued attribute gives each of its values
/// (or each value's sub-attribute).
fn values_at<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let Some(v) = member(resource, path) else {
        return Vec::new();
    };
    let items = elements(v);
    match &path.sub {
        None => items,
        Some(sub) => items.into_iter().filter_map(|i| field(i, sub)).collect(),
    }
}

fn compare(found: &Value, op: Op, wanted: &Value, case_exact: bool) -> bool {
    match (found, wanted) {
        (Value::String(f), Value::String(w)) => {
            let (f, w) = if case_exact {
                (f.clone(), w.clone())
            } else {
                (f.to_lowercase(), w.to_lowercase())
            };
            match op {
                Op::Eq => f == w,
                Op::Ne => f != w,
                Op::Co => f.contains(&w),
                Op::Sw => f.starts_with(&w),
                Op::Ew => f.ends_with(&w),
                Op::Gt => f > w,
                Op::Lt => f < w,
                Op::Ge => f >= w,
                Op::Le => f <= w,
            }
        }
        (Value::String(f), Value::Bool(w)) => {
            // Entra ID writes booleans as strings.
            f.to_ascii_lowercase().parse::<bool>().ok() == Some(*w) && op == Op::Eq
        }
        (Value::Bool(f), Value::Bool(w)) => match op {
            Op::Eq => f == w,
            Op::Ne => f != w,
            _ => false,
        },
        (Value::Number(f), Value::Number(w)) => {
            let (Some(f), Some(w)) = (f.as_f64(), w.as_f64()) else {
                return false;
            };
            match op {
                Op::Eq => (f - w).abs() < f64::EPSILON,
                Op::Ne => (f - w).abs() >= f64::EPSILON,
                Op::Gt => f > w,
                Op::Lt => f < w,
                Op::Ge => f >= w,
                Op::Le => f <= w,
                _ => false,
            }
        }
        (Value::Null, Value::Null) => op == Op::Eq,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bjensen() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "2819c223",
            "externalId": "BJ-1",
            "userName": "Bjensen@Example.com",
            "displayName": "Babs Jensen",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "meta": {"lastModified": "2011-05-13T04:42:34Z"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984"}
        })
    }

    fn holds(filter: &str) -> bool {
        Filter::parse(filter)
            .unwrap_or_else(|e| panic!("{filter}: {e:?}"))
            .matches(&bjensen())
    }

    #[test]
    fn a_user_name_is_told_where_every_match_must_have_it() {
        let named = |filter: &str| {
            Filter::parse(filter)
                .unwrap()
                .user_name()
                .map(str::to_owned)
        };
        for (filter, expected) in [
            (r#"userName eq "Bjensen""#, Some("Bjensen")),
            (r#"USERNAME Eq "bjensen""#, Some("bjensen")),
            (r#"active eq true and userName eq "b""#, Some("b")),
            (r#"(userName eq "b") and active eq true"#, Some("b")),
            // Not a single name a match must have.
            (r#"userName eq "a" or userName eq "b""#, None),
            (r#"not (userName eq "b")"#, None),
            (r#"userName ne "b""#, None),
            (r#"userName sw "b""#, None),
            (r#"emails[value eq "b"]"#, None),
            (
                r#"urn:ietf:params:scim:schemas:extension:x:2.0:User:userName eq "b""#,
                None,
            ),
        ] {
            assert_eq!(named(filter).as_deref(), expected, "{filter}");
        }
    }

    #[test]
    fn the_rfcs_examples_read_as_they_should() {
        for (filter, expected) in [
            (r#"userName eq "bjensen@example.com""#, true),
            (r#"userName Eq "BJENSEN@EXAMPLE.COM""#, true),
            (r#"username eq "someone""#, false),
            (r#"userName co "jensen""#, true),
            (r#"userName sw "bj""#, true),
            (r#"userName ew ".com""#, true),
            (r#"externalId eq "BJ-1""#, true),
            (r#"externalId eq "bj-1""#, false),
            ("displayName pr", true),
            ("nickName pr", false),
            ("active eq true", true),
            ("active eq false", false),
            (
                r#"emails[type eq "work" and value co "@example.com"]"#,
                true,
            ),
            (
                r#"emails[type eq "work" and value co "@jensen.org"]"#,
                false,
            ),
            (r#"emails.value eq "babs@jensen.org""#, true),
            (r#"emails.type eq "home""#, true),
            (r#"userName eq "x" or displayName eq "Babs Jensen""#, true),
            (r#"not (userName eq "x")"#, true),
            (r#"not (userName sw "bj") and active eq true"#, false),
            (
                r#"(userName eq "x" or active eq true) and displayName co "Babs""#,
                true,
            ),
            (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false),
            (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
                true,
            ),
            (r#"displayName ne "Babs Jensen""#, false),
            (r#"nickName ne "x""#, true),
        ] {
            assert_eq!(holds(filter), expected, "{filter}");
        }
    }

    #[test]
    fn members_are_found_by_value_and_entra_booleans_by_their_text() {
        let group = json!({"displayName": "Ops", "members": [{"value": "u1"}, {"value": "u2"}]});
        let f = Filter::parse(r#"members[value eq "u2"]"#).unwrap();
        assert!(f.matches(&group));
        let f = Filter::parse(r#"members[value eq "u3"]"#).unwrap();
        assert!(!f.matches(&group));
        let entra = json!({"active": "False"});
        assert!(Filter::parse("active eq false").unwrap().matches(&entra));
    }

    #[test]
    fn a_bad_filter_is_an_invalid_filter_naming_why() {
        for bad in [
            "",
            "userName",
            "userName eq",
            r#"userName xx "a""#,
            r#"userName eq "a"#,
            r#"(userName eq "a""#,
            r#"emails[type eq "work""#,
            r#"userName eq "a" extra"#,
            "userName eq bare",
            r#"not userName eq "a""#,
            "1abc pr",
        ] {
            let e = Filter::parse(bad).expect_err(bad);
            assert!(
                e.scim_type == Some("invalidFilter") || e.scim_type == Some("invalidPath"),
                "{bad}: {e:?}"
            );
        }
        let deep = format!("{}userName pr{}", "(".repeat(40), ")".repeat(40));
        assert!(Filter::parse(&deep).is_err());
        assert!(Filter::parse(&"a".repeat(5000)).is_err());
    }
}
