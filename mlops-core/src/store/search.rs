//! Run search: MLflow's filter language and `order_by` clauses, compiled to SQLite SQL.
//!
//! # Filter language
//!
//! A filter is a boolean expression over comparisons `IDENTIFIER COMPARATOR VALUE`:
//!
//! | identifier | comparators | value |
//! |---|---|---|
//! | `metrics.KEY` (`metric.`) | `= != < <= > >=` | number (`1`, `-0.5`, `1e-3`); compares the latest value |
//! | `params.KEY` (`param.`, `parameters.`, `parameter.`) | `= != LIKE ILIKE IN NOT IN IS NULL IS NOT NULL` | quoted string, or a list `('a', 'b')` |
//! | `tags.KEY` (`tag.`) | same as params | same as params |
//! | `attributes.KEY` (`attribute.`, `attr.`, `run.`, or no prefix) | strings: `run_id run_name status artifact_uri user_id lifecycle_stage experiment_id` with `= != LIKE ILIKE IN NOT IN`; numbers: `start_time end_time created` with `= != < <= > >=` | quoted string or number |
//! | `datasets.KEY` (`dataset.`) | `name digest context` with `= != LIKE ILIKE IN NOT IN` | quoted string or list |
//!
//! Keys with special characters are quoted with backticks or double quotes
//! (``metrics.`val loss` ``, `tags."mlflow.user"`); an unquoted key runs over letters, digits
//! and `_ . - / :`, so `tags.mlflow.user` names the key `mlflow.user`. Strings are single- or
//! double-quoted; the quote is escaped by doubling it or with a backslash (`'it''s'`,
//! `'it\'s'`). `LIKE` is case-sensitive, `ILIKE` ignores ASCII case; in both `%` matches any
//! run of characters, `_` one character, and a backslash makes the next character literal.
//!
//! As in MLflow, `params.k != 'v'` (and `NOT IN`, `LIKE`, ...) only match runs that have the
//! key; `IS NULL` matches the runs without it. A NaN metric satisfies no comparison.
//!
//! # Extensions over MLflow
//!
//! MLflow accepts only `clause AND clause ...`. Here clauses combine with `AND`, `OR`, `NOT`
//! and parentheses, with the usual precedence (`NOT` binds tighter than `AND`, which binds
//! tighter than `OR`); keywords are case-insensitive. Params and tags also accept `IN`,
//! `NOT IN`, `IS NULL` and `IS NOT NULL`, every string attribute accepts `IN`/`NOT IN`, and
//! `attributes.experiment_id` and `attributes.lifecycle_stage` are searchable.
//!
//! # Order
//!
//! `order_by` entries are `TYPE.KEY [ASC|DESC]` for metrics, params, tags and attributes
//! (default `ASC`). Runs lacking an ordered metric, param or tag sort last in both
//! directions (a NaN metric sorts after numbers but before missing values, as in MLflow).
//! `start_time DESC` (unless already ordered by) and `run_id ASC` break ties.

use rusqlite::types::Value;

use crate::error::{Error, Result};

/// Deepest nesting of parentheses and `NOT` a filter may use.
const MAX_DEPTH: usize = 64;

/// A filter and order compiled to SQL fragments over the `runs` table aliased `r`.
#[derive(Debug)]
pub(crate) struct CompiledSearch {
    /// SQL boolean expression over the table alias `r` (runs); "1" when the filter is empty.
    pub where_sql: String,
    /// Extra `LEFT JOIN ...` clauses needed by ORDER BY (e.g. on latest_metrics), may be empty.
    pub joins: String,
    /// ORDER BY list without the keyword, always ending with the tie-breakers
    /// `r.start_time DESC, r.run_id ASC` (the first is left out when the order already
    /// names the start time, the second when it names the run id).
    pub order_sql: String,
    /// Positional parameters for `?` placeholders, in order of appearance in joins, then
    /// where_sql, then order_sql. Placeholders are bound by their position in the final SQL
    /// text, so a caller's own `?` written between `joins` and `where_sql` would shift them.
    pub params: Vec<Value>,
    /// The parameters of `where_sql` alone.
    pub where_params: Vec<Value>,
    /// Set when the first `order_by` entry is a metric: the caller can then walk the
    /// `(key, value)` index of `latest_metrics` in order and stop once a page is full,
    /// instead of sorting every matching run.
    pub leading_metric: Option<LeadingMetric>,
}

/// The first `order_by` entry when it is a metric, and the order of the remaining entries.
#[derive(Debug)]
pub(crate) struct LeadingMetric {
    /// The metric key.
    pub key: String,
    /// `DESC` when true.
    pub descending: bool,
    /// `LEFT JOIN`s needed by the remaining entries.
    pub rest_joins: String,
    /// Parameters of `rest_joins`.
    pub rest_join_params: Vec<Value>,
    /// ORDER BY list of the remaining entries and the tie-breakers.
    pub rest_order_sql: String,
}

/// Compiles a run-search filter and `order_by` list (see the module doc for the language).
///
/// Every malformed input is an [`Error::InvalidInput`] naming the text, the offending token,
/// its position (in characters) and what was expected.
pub(crate) fn compile_run_search(filter: &str, order_by: &[String]) -> Result<CompiledSearch> {
    let filter = parse_filter(filter)?;
    let order = compile_order_by(order_by)?;
    let leading_metric = match order.leading_metric {
        Some((key, descending)) => {
            let rest = compile_order_by(order_by.get(1..).unwrap_or_default())?;
            Some(LeadingMetric {
                key,
                descending,
                rest_joins: rest.joins,
                rest_join_params: rest.join_params,
                rest_order_sql: rest.sql,
            })
        }
        None => None,
    };
    let mut params = order.join_params;
    params.extend(filter.params.iter().cloned());
    Ok(CompiledSearch {
        where_sql: filter.sql,
        joins: order.joins,
        order_sql: order.sql,
        params,
        where_params: filter.params,
        leading_metric,
    })
}

// ---------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------

/// The entity an identifier refers to.
#[derive(Debug, Clone, PartialEq)]
enum Field {
    Metric(String),
    Param(String),
    Tag(String),
    Attr(Attr),
    Dataset(DatasetCol),
}

/// A searchable column of `runs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attr {
    RunId,
    RunName,
    Status,
    ArtifactUri,
    UserId,
    LifecycleStage,
    ExperimentId,
    StartTime,
    EndTime,
}

/// A searchable property of a run's dataset inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DatasetCol {
    Name,
    Digest,
    Context,
}

/// A comparator as written in the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    ILike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

const NUMERIC_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge];
const STRING_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::Like, Op::ILike, Op::In, Op::NotIn];
const KEY_VALUE_OPS: &[Op] = &[
    Op::Eq,
    Op::Ne,
    Op::Like,
    Op::ILike,
    Op::In,
    Op::NotIn,
    Op::IsNull,
    Op::IsNotNull,
];

const IDENT_EXPECTED: &str =
    "an identifier such as metrics.KEY, params.KEY, tags.KEY, attributes.KEY or datasets.KEY";
const ATTR_EXPECTED: &str = "an attribute (run_id, run_name, status, artifact_uri, user_id, \
     lifecycle_stage, experiment_id, start_time, end_time or created)";
const DATASET_EXPECTED: &str = "a dataset field (name, digest or context)";

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Like => "LIKE",
            Op::ILike => "ILIKE",
            Op::In => "IN",
            Op::NotIn => "NOT IN",
            Op::IsNull => "IS NULL",
            Op::IsNotNull => "IS NOT NULL",
        }
    }
}

impl Attr {
    fn parse(key: &str) -> Option<Attr> {
        Some(match key {
            "run_id" => Attr::RunId,
            "run_name" | "run name" | "Run name" | "Run Name" => Attr::RunName,
            "status" => Attr::Status,
            "artifact_uri" => Attr::ArtifactUri,
            "user_id" => Attr::UserId,
            "lifecycle_stage" => Attr::LifecycleStage,
            "experiment_id" => Attr::ExperimentId,
            "start_time" | "created" | "Created" => Attr::StartTime,
            "end_time" => Attr::EndTime,
            _ => return None,
        })
    }

    fn column(self) -> &'static str {
        match self {
            Attr::RunId => "r.run_id",
            Attr::RunName => "r.run_name",
            Attr::Status => "r.status",
            Attr::ArtifactUri => "r.artifact_uri",
            Attr::UserId => "r.user_id",
            Attr::LifecycleStage => "r.lifecycle_stage",
            Attr::ExperimentId => "r.experiment_id",
            Attr::StartTime => "r.start_time",
            Attr::EndTime => "r.end_time",
        }
    }

    fn is_numeric(self) -> bool {
        matches!(self, Attr::StartTime | Attr::EndTime)
    }
}

impl DatasetCol {
    fn parse(key: &str) -> Option<DatasetCol> {
        Some(match key {
            "name" => DatasetCol::Name,
            "digest" => DatasetCol::Digest,
            "context" => DatasetCol::Context,
            _ => return None,
        })
    }

    fn column(self) -> &'static str {
        match self {
            DatasetCol::Name => "d.name",
            DatasetCol::Digest => "d.digest",
            DatasetCol::Context => "ri.context",
        }
    }
}

impl Field {
    fn is_numeric(&self) -> bool {
        match self {
            Field::Metric(_) => true,
            Field::Attr(a) => a.is_numeric(),
            _ => false,
        }
    }

    fn comparators(&self) -> &'static [Op] {
        match self {
            Field::Param(_) | Field::Tag(_) => KEY_VALUE_OPS,
            _ if self.is_numeric() => NUMERIC_OPS,
            _ => STRING_OPS,
        }
    }

    /// The identity used to reject duplicate ORDER BY keys.
    fn canonical(&self) -> String {
        match self {
            Field::Metric(k) => format!("metrics.{k}"),
            Field::Param(k) => format!("params.{k}"),
            Field::Tag(k) => format!("tags.{k}"),
            Field::Attr(a) => format!("attributes.{}", a.column().trim_start_matches("r.")),
            Field::Dataset(d) => format!("datasets.{d:?}"),
        }
    }
}

/// A parsed identifier with its source text (for messages).
struct Ident {
    field: Field,
    text: String,
    start: usize,
}

/// A comparison's right-hand side, already shaped for SQL.
enum Cond {
    /// `col OP ?` with a plain comparator.
    Cmp(&'static str, Value),
    /// Case-sensitive pattern: `col GLOB ?`.
    Glob(String),
    /// Case-insensitive pattern: `col LIKE ? ESCAPE '\'`.
    ILike(String),
    /// `col [NOT] IN (?, ...)`.
    In {
        negated: bool,
        values: Vec<Value>,
    },
    IsNull,
    IsNotNull,
}

/// A piece of SQL with the values of its placeholders.
#[derive(Debug)]
struct Frag {
    sql: String,
    params: Vec<Value>,
}

// ---------------------------------------------------------------------------------------
// Lexing helpers
// ---------------------------------------------------------------------------------------

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | ':')
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_op_char(c: char) -> bool {
    matches!(c, '<' | '>' | '=' | '!')
}

/// A cursor over the text being parsed; `pos` is always on a char boundary.
struct Parser<'a> {
    src: &'a str,
    pos: usize,
    what: &'static str,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, what: &'static str) -> Self {
        Parser {
            src,
            pos: 0,
            what,
            depth: 0,
        }
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// Consumes the longest run of characters satisfying `f`.
    fn scan(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.bump();
        }
        self.src.get(start..self.pos).unwrap_or("")
    }

    /// Consumes the keyword `kw` (case-insensitive, whole word) after optional whitespace.
    fn eat_keyword(&mut self, kw: &str) -> bool {
        self.skip_ws();
        let word: &str = {
            let rest = self.rest();
            let len = rest
                .char_indices()
                .find(|&(_, c)| !is_name_char(c))
                .map_or(rest.len(), |(i, _)| i);
            rest.get(..len).unwrap_or("")
        };
        if word.eq_ignore_ascii_case(kw) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    /// An error at byte offset `at`: names the expectation, the position and what was found.
    fn error(&self, at: usize, expected: impl std::fmt::Display) -> Error {
        let position = self.src.get(..at).map_or(at, |s| s.chars().count());
        Error::invalid(
            self.what,
            self.src,
            format!(
                "expected {expected} at position {position}, found {}",
                self.found(at)
            ),
        )
    }

    /// Describes the token starting at byte offset `at`.
    fn found(&self, at: usize) -> String {
        const MAX: usize = 32;
        let rest = self.src.get(at..).unwrap_or("");
        let Some(first) = rest.chars().next() else {
            return "the end of the text".to_owned();
        };
        let token: String = if is_word_char(first) {
            rest.chars()
                .take_while(|&c| is_word_char(c))
                .take(MAX)
                .collect()
        } else if is_op_char(first) {
            rest.chars()
                .take_while(|&c| is_op_char(c))
                .take(MAX)
                .collect()
        } else if matches!(first, '\'' | '"' | '`') {
            let mut s = String::new();
            for (i, c) in rest.chars().take(MAX).enumerate() {
                s.push(c);
                if i > 0 && c == first {
                    break;
                }
            }
            s
        } else {
            first.to_string()
        };
        format!("{token:?}")
    }

    /// Parses a quoted string or key at the cursor (which is on the opening quote).
    fn parse_quoted(&mut self) -> Result<String> {
        let start = self.pos;
        let Some(quote) = self.bump() else {
            return Err(self.error(start, "a quoted string"));
        };
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(
                        self.error(start, format!("a closing {quote} for the text starting"))
                    );
                }
                Some('\\') if self.peek().is_some_and(|c| c == quote || c == '\\') => {
                    if let Some(c) = self.bump() {
                        out.push(c);
                    }
                }
                Some(c) if c == quote => {
                    if self.peek() == Some(quote) {
                        self.bump();
                        out.push(quote);
                    } else {
                        return Ok(out);
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Identifiers, comparators, values
    // -----------------------------------------------------------------------------------

    fn parse_ident(&mut self) -> Result<Ident> {
        self.skip_ws();
        let start = self.pos;
        let head = self.scan(is_name_char);
        if !head.is_empty() && self.peek() == Some('.') {
            let prefix = head.to_ascii_lowercase();
            let known = [
                "metrics",
                "metric",
                "params",
                "param",
                "parameters",
                "parameter",
                "tags",
                "tag",
                "attributes",
                "attribute",
                "attr",
                "run",
                "datasets",
                "dataset",
            ];
            if !known.contains(&prefix.as_str()) {
                return Err(self.error(
                    start,
                    "an identifier type (metrics, params, tags, attributes or datasets)",
                ));
            }
            self.bump(); // the dot
            let key_at = self.pos;
            let key = match self.peek() {
                Some('`' | '"') => self.parse_quoted()?,
                _ => self.scan(is_word_char).to_owned(),
            };
            if key.is_empty() {
                return Err(self.error(key_at, format!("a key after {head}.")));
            }
            let field = match prefix.as_str() {
                "metrics" | "metric" => Field::Metric(key),
                "params" | "param" | "parameters" | "parameter" => Field::Param(key),
                "tags" | "tag" => Field::Tag(key),
                "datasets" | "dataset" => match DatasetCol::parse(&key) {
                    Some(d) => Field::Dataset(d),
                    None => return Err(self.error(key_at, DATASET_EXPECTED)),
                },
                _ => match Attr::parse(&key) {
                    Some(a) => Field::Attr(a),
                    None => return Err(self.error(key_at, ATTR_EXPECTED)),
                },
            };
            let text = self.src.get(start..self.pos).unwrap_or("").to_owned();
            Ok(Ident { field, text, start })
        } else {
            // MLflow reads an identifier without a type prefix as an attribute.
            self.pos = start;
            let word = self.scan(is_word_char);
            match Attr::parse(word) {
                Some(a) => Ok(Ident {
                    field: Field::Attr(a),
                    text: word.to_owned(),
                    start,
                }),
                None => Err(self.error(start, IDENT_EXPECTED)),
            }
        }
    }

    fn parse_op(&mut self, ident: &Ident) -> Result<Op> {
        self.skip_ws();
        let at = self.pos;
        let allowed = ident.field.comparators();
        let expected = || {
            let list: Vec<&str> = allowed.iter().map(|op| op.label()).collect();
            format!("a comparator ({}) after {}", list.join(", "), ident.text)
        };
        let op = match self.peek() {
            Some(c) if is_op_char(c) => match self.scan(is_op_char) {
                "=" => Some(Op::Eq),
                "!=" => Some(Op::Ne),
                "<" => Some(Op::Lt),
                "<=" => Some(Op::Le),
                ">" => Some(Op::Gt),
                ">=" => Some(Op::Ge),
                _ => None,
            },
            Some(c) if is_name_char(c) => {
                let word = self.scan(is_name_char).to_ascii_uppercase();
                match word.as_str() {
                    "LIKE" => Some(Op::Like),
                    "ILIKE" => Some(Op::ILike),
                    "IN" => Some(Op::In),
                    "NOT" => {
                        if self.eat_keyword("IN") {
                            Some(Op::NotIn)
                        } else {
                            return Err(
                                self.error(self.pos, format!("IN after {} NOT", ident.text))
                            );
                        }
                    }
                    "IS" => {
                        let negated = self.eat_keyword("NOT");
                        if self.eat_keyword("NULL") {
                            Some(if negated { Op::IsNotNull } else { Op::IsNull })
                        } else {
                            let after = if negated { "IS NOT" } else { "IS" };
                            return Err(
                                self.error(self.pos, format!("NULL after {} {after}", ident.text))
                            );
                        }
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        match op {
            Some(op) if allowed.contains(&op) => Ok(op),
            _ => Err(self.error(at, expected())),
        }
    }

    /// Parses a number; integral text becomes an integer when `prefer_int`.
    fn parse_number(&mut self, context: &str, prefer_int: bool) -> Result<Value> {
        self.skip_ws();
        let at = self.pos;
        let bytes = self.src.as_bytes();
        let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
        let mut end = at;
        if matches!(bytes.get(end), Some(b'+' | b'-')) {
            end += 1;
        }
        while digit(end) || bytes.get(end) == Some(&b'.') {
            end += 1;
        }
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            let mut exp = end + 1;
            if matches!(bytes.get(exp), Some(b'+' | b'-')) {
                exp += 1;
            }
            if digit(exp) {
                while digit(exp) {
                    exp += 1;
                }
                end = exp;
            }
        }
        // Only ASCII bytes were skipped, so `end` is a char boundary.
        let text = self.src.get(at..end).unwrap_or("");
        let glued = self
            .src
            .get(end..)
            .and_then(|s| s.chars().next())
            .is_some_and(|c| is_word_char(c) || c == '\'' || c == '"' || c == '`');
        let value = match text.parse::<f64>() {
            Ok(v) if !glued && !v.is_nan() => v,
            _ => return Err(self.error(at, format!("a number after {context}"))),
        };
        self.pos = end;
        Ok(match text.parse::<i64>() {
            Ok(i) if prefer_int => Value::Integer(i),
            _ => Value::Real(value),
        })
    }

    /// Parses a quoted string (or, for `experiment_id`, also a bare integer).
    fn parse_string_value(&mut self, ident: &Ident, context: &str) -> Result<String> {
        self.skip_ws();
        let at = self.pos;
        match self.peek() {
            Some('\'' | '"') => self.parse_quoted(),
            Some(c)
                if ident.field == Field::Attr(Attr::ExperimentId)
                    && (c.is_ascii_digit() || c == '-') =>
            {
                let value = self.parse_number(context, true)?;
                match value {
                    Value::Integer(i) => Ok(i.to_string()),
                    _ => {
                        Err(self
                            .error(at, format!("an integer or a quoted string after {context}")))
                    }
                }
            }
            _ => Err(self.error(at, format!("a quoted string after {context}"))),
        }
    }

    fn parse_list(&mut self, ident: &Ident, context: &str) -> Result<Vec<String>> {
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(self.error(
                self.pos,
                format!("a parenthesized list of quoted strings after {context}"),
            ));
        }
        self.bump();
        let item_context = format!("{context} (");
        let mut items = Vec::new();
        loop {
            items.push(self.parse_string_value(ident, &item_context)?);
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(')') => {
                    self.bump();
                    return Ok(items);
                }
                _ => {
                    return Err(
                        self.error(self.pos, format!("',' or ')' in the list after {context}"))
                    );
                }
            }
        }
    }

    /// Parses `COMPARATOR VALUE` after `ident`.
    fn parse_cond(&mut self, ident: &Ident) -> Result<Cond> {
        let op = self.parse_op(ident)?;
        let context = format!("{} {}", ident.text, op.label());
        let int_values = ident.field == Field::Attr(Attr::ExperimentId);
        let bind = |s: String| match s.parse::<i64>() {
            Ok(i) if int_values => Value::Integer(i),
            _ => Value::Text(s),
        };
        Ok(match op {
            Op::IsNull => Cond::IsNull,
            Op::IsNotNull => Cond::IsNotNull,
            Op::In | Op::NotIn => Cond::In {
                negated: op == Op::NotIn,
                values: self
                    .parse_list(ident, &context)?
                    .into_iter()
                    .map(bind)
                    .collect(),
            },
            Op::Like => Cond::Glob(like_to_glob(&self.parse_string_value(ident, &context)?)),
            Op::ILike => Cond::ILike(like_to_escaped_like(
                &self.parse_string_value(ident, &context)?,
            )),
            Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                let value = match &ident.field {
                    Field::Metric(_) => self.parse_number(&context, false)?,
                    f if f.is_numeric() => self.parse_number(&context, true)?,
                    _ => bind(self.parse_string_value(ident, &context)?),
                };
                Cond::Cmp(op.label(), value)
            }
        })
    }

    // -----------------------------------------------------------------------------------
    // Boolean structure
    // -----------------------------------------------------------------------------------

    fn enter(&mut self, at: usize) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                at,
                format!("at most {MAX_DEPTH} levels of parentheses and NOT"),
            ));
        }
        Ok(())
    }

    fn parse_or(&mut self) -> Result<Frag> {
        let mut items = vec![self.parse_and()?];
        while self.eat_keyword("OR") {
            items.push(self.parse_and()?);
        }
        Ok(combine(items, "OR"))
    }

    fn parse_and(&mut self) -> Result<Frag> {
        let mut items = vec![self.parse_not()?];
        while self.eat_keyword("AND") {
            items.push(self.parse_not()?);
        }
        Ok(combine(items, "AND"))
    }

    fn parse_not(&mut self) -> Result<Frag> {
        self.skip_ws();
        let at = self.pos;
        if self.eat_keyword("NOT") {
            self.enter(at)?;
            let inner = self.parse_not()?;
            self.depth -= 1;
            Ok(Frag {
                sql: format!("NOT ({})", inner.sql),
                params: inner.params,
            })
        } else {
            self.parse_primary()
        }
    }

    fn parse_primary(&mut self) -> Result<Frag> {
        self.skip_ws();
        let open = self.pos;
        if self.peek() == Some('(') {
            self.enter(open)?;
            self.bump();
            let inner = self.parse_or()?;
            self.skip_ws();
            if self.peek() != Some(')') {
                let position = self.src.get(..open).map_or(open, |s| s.chars().count());
                return Err(self.error(
                    self.pos,
                    format!("AND, OR or ')' (unbalanced '(' at position {position})"),
                ));
            }
            self.bump();
            self.depth -= 1;
            return Ok(inner);
        }
        let ident = self.parse_ident()?;
        let cond = self.parse_cond(&ident)?;
        Ok(compile_comparison(&ident.field, cond))
    }
}

// ---------------------------------------------------------------------------------------
// SQL generation
// ---------------------------------------------------------------------------------------

fn parse_filter(filter: &str) -> Result<Frag> {
    let mut p = Parser::new(filter, "filter");
    p.skip_ws();
    if p.at_end() {
        return Ok(Frag {
            sql: "1".to_owned(),
            params: Vec::new(),
        });
    }
    let frag = p.parse_or()?;
    p.skip_ws();
    match p.peek() {
        None => Ok(frag),
        Some(')') => Err(p.error(
            p.pos,
            "AND, OR or the end of the filter (this ')' closes no '(')",
        )),
        Some(_) => Err(p.error(p.pos, "AND, OR or the end of the filter")),
    }
}

/// Joins clauses with `op` as a balanced tree, so SQLite's expression depth stays logarithmic.
fn combine(mut items: Vec<Frag>, op: &str) -> Frag {
    if items.len() <= 1 {
        return items.pop().unwrap_or(Frag {
            sql: "1".to_owned(),
            params: Vec::new(),
        });
    }
    let right = items.split_off(items.len() / 2);
    let left = combine(items, op);
    let right = combine(right, op);
    let mut params = left.params;
    params.extend(right.params);
    Frag {
        sql: format!("({} {op} {})", left.sql, right.sql),
        params,
    }
}

/// `col <cond>`, pushing the placeholder values.
fn cond_sql(col: &str, cond: Cond, params: &mut Vec<Value>) -> String {
    match cond {
        Cond::Cmp(op, value) => {
            params.push(value);
            format!("{col} {op} ?")
        }
        Cond::Glob(pattern) => {
            params.push(Value::Text(pattern));
            format!("{col} GLOB ?")
        }
        Cond::ILike(pattern) => {
            params.push(Value::Text(pattern));
            format!("{col} LIKE ? ESCAPE '\\'")
        }
        Cond::In { negated, values } => {
            let marks = vec!["?"; values.len()].join(", ");
            params.extend(values);
            let not = if negated { "NOT " } else { "" };
            format!("{col} {not}IN ({marks})")
        }
        Cond::IsNull => format!("{col} IS NULL"),
        Cond::IsNotNull => format!("{col} IS NOT NULL"),
    }
}

fn compile_comparison(field: &Field, cond: Cond) -> Frag {
    let mut params = Vec::new();
    let sql = match field {
        Field::Metric(key) | Field::Param(key) | Field::Tag(key) => {
            let table = match field {
                Field::Metric(_) => "latest_metrics",
                Field::Param(_) => "params",
                _ => "tags",
            };
            params.push(Value::Text(key.clone()));
            // Correlated EXISTS probes the (run_id, key) primary key: cheap per run, and it
            // lets a scan ordered by a metric index stop as soon as a page is full.
            let probe = format!("SELECT 1 FROM {table} t WHERE t.run_id = r.run_id AND t.key = ?");
            match cond {
                Cond::IsNull => format!("NOT EXISTS ({probe})"),
                Cond::IsNotNull => format!("EXISTS ({probe})"),
                cond => format!(
                    "EXISTS ({probe} AND {})",
                    cond_sql("t.value", cond, &mut params)
                ),
            }
        }
        Field::Attr(attr) => {
            let pattern = matches!(cond, Cond::Glob(_) | Cond::ILike(_));
            let col = if *attr == Attr::ExperimentId && pattern {
                "CAST(r.experiment_id AS TEXT)"
            } else {
                attr.column()
            };
            let sql = cond_sql(col, cond, &mut params);
            if *attr == Attr::EndTime {
                // A running run has no end time: make the comparison false, not NULL, so
                // that NOT turns it into true.
                format!("COALESCE({sql}, 0)")
            } else {
                sql
            }
        }
        Field::Dataset(col) => format!(
            "EXISTS (SELECT 1 FROM run_inputs ri JOIN datasets d ON d.digest = ri.digest \
             WHERE ri.run_id = r.run_id AND {})",
            cond_sql(col.column(), cond, &mut params)
        ),
    };
    Frag { sql, params }
}

/// One element of a LIKE pattern.
enum PatternPart {
    AnyRun,
    AnyOne,
    Literal(char),
}

/// Splits a LIKE pattern: `%`, `_`, and `\` escaping the next character.
fn like_parts(pattern: &str) -> Vec<PatternPart> {
    let mut parts = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        parts.push(match c {
            '%' => PatternPart::AnyRun,
            '_' => PatternPart::AnyOne,
            '\\' => PatternPart::Literal(chars.next().unwrap_or('\\')),
            c => PatternPart::Literal(c),
        });
    }
    parts
}

/// A LIKE pattern as an (always case-sensitive) SQLite GLOB pattern.
fn like_to_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for part in like_parts(pattern) {
        match part {
            PatternPart::AnyRun => out.push('*'),
            PatternPart::AnyOne => out.push('?'),
            PatternPart::Literal(c @ ('*' | '?' | '[')) => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            PatternPart::Literal(c) => out.push(c),
        }
    }
    out
}

/// A LIKE pattern normalized for SQLite's `LIKE ? ESCAPE '\'`.
fn like_to_escaped_like(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for part in like_parts(pattern) {
        match part {
            PatternPart::AnyRun => out.push('%'),
            PatternPart::AnyOne => out.push('_'),
            PatternPart::Literal(c @ ('%' | '_' | '\\')) => {
                out.push('\\');
                out.push(c);
            }
            PatternPart::Literal(c) => out.push(c),
        }
    }
    out
}

/// The compiled `order_by` list.
struct OrderBy {
    joins: String,
    join_params: Vec<Value>,
    sql: String,
    /// The metric key and direction of the first entry, when it is a metric.
    leading_metric: Option<(String, bool)>,
}

fn compile_order_by(entries: &[String]) -> Result<OrderBy> {
    let mut joins: Vec<String> = Vec::new();
    let mut join_params = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut leading_metric = None;
    let (mut has_start, mut has_run_id) = (false, false);
    for (i, entry) in entries.iter().enumerate() {
        let mut p = Parser::new(entry, "order_by clause");
        p.skip_ws();
        if p.at_end() {
            return Err(p.error(
                p.pos,
                "a key such as metrics.acc, params.lr, tags.team or attributes.start_time",
            ));
        }
        let ident = p.parse_ident()?;
        p.skip_ws();
        let dir_at = p.pos;
        let desc = match p.scan(is_name_char).to_ascii_uppercase().as_str() {
            "ASC" => false,
            "DESC" => true,
            "" if p.at_end() => false,
            _ => return Err(p.error(dir_at, format!("ASC or DESC after {}", ident.text))),
        };
        p.skip_ws();
        if !p.at_end() {
            return Err(p.error(p.pos, "the end of the clause"));
        }
        let canonical = ident.field.canonical();
        if seen.contains(&canonical) {
            return Err(Error::invalid(
                "order_by clause",
                entry,
                format!("expected each key at most once, but {canonical} is already ordered by"),
            ));
        }
        seen.push(canonical);
        let dir = if desc { "DESC" } else { "ASC" };
        let alias = format!("ob{i}");
        match &ident.field {
            Field::Metric(key) => {
                if i == 0 {
                    leading_metric = Some((key.clone(), desc));
                }
                joins.push(format!(
                    "LEFT JOIN latest_metrics {alias} ON {alias}.run_id = r.run_id AND {alias}.key = ?"
                ));
                join_params.push(Value::Text(key.clone()));
                parts.push(format!(
                    "CASE WHEN {alias}.run_id IS NULL THEN 2 WHEN {alias}.is_nan THEN 1 ELSE 0 END, \
                     {alias}.value {dir}"
                ));
            }
            Field::Param(key) | Field::Tag(key) => {
                let table = if matches!(ident.field, Field::Param(_)) {
                    "params"
                } else {
                    "tags"
                };
                joins.push(format!(
                    "LEFT JOIN {table} {alias} ON {alias}.run_id = r.run_id AND {alias}.key = ?"
                ));
                join_params.push(Value::Text(key.clone()));
                parts.push(format!("{alias}.value IS NULL, {alias}.value {dir}"));
            }
            Field::Attr(attr) => {
                has_start |= *attr == Attr::StartTime;
                has_run_id |= *attr == Attr::RunId;
                let col = attr.column();
                parts.push(if *attr == Attr::EndTime {
                    format!("{col} IS NULL, {col} {dir}")
                } else {
                    format!("{col} {dir}")
                });
            }
            Field::Dataset(_) => {
                return Err(p.error(
                    ident.start,
                    "a metrics, params, tags or attributes key (runs cannot be ordered by datasets)",
                ));
            }
        }
    }
    if !has_start {
        parts.push("r.start_time DESC".to_owned());
    }
    if !has_run_id {
        parts.push("r.run_id ASC".to_owned());
    }
    Ok(OrderBy {
        joins: joins.join(" "),
        join_params,
        sql: parts.join(", "),
        leading_metric,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, params_from_iter};

    /// Runs r1..r5 (r5 in experiment 2); see the inserts for their data.
    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::store::schema::SCHEMA_V1).unwrap();
        let runs = [
            ("r1", 1, "alpha", "alice", "FINISHED", 1000, Some(2000)),
            ("r2", 1, "beta", "bob", "FINISHED", 2000, Some(3000)),
            ("r3", 1, "gamma", "alice", "RUNNING", 3000, None),
            ("r4", 1, "delta", "carol", "FINISHED", 3000, Some(4000)),
            ("r5", 2, "Epsilon", "bob", "KILLED", 500, Some(600)),
        ];
        for (id, exp, name, user, status, start, end) in runs {
            conn.execute(
                "INSERT INTO runs (run_id, experiment_id, run_name, user_id, status, start_time, \
                 end_time, heartbeat_time, artifact_uri) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rusqlite::params![
                    id,
                    exp,
                    name,
                    user,
                    status,
                    start,
                    end,
                    start,
                    format!("mem://{id}")
                ],
            )
            .unwrap();
        }
        for (table, run, key, value) in [
            ("params", "r1", "lr", "0.01"),
            ("params", "r1", "model", "CNN"),
            ("params", "r2", "lr", "0.1"),
            ("params", "r2", "model", "cnn"),
            ("params", "r2", "note", "it's"),
            ("params", "r3", "lr", "0.01"),
            ("params", "r3", "model", "RNN-big"),
            ("params", "r4", "model", "50%_off"),
            ("params", "r5", "lr", "0.001"),
            ("tags", "r1", "team", "x"),
            ("tags", "r1", "mlflow.user", "alice"),
            ("tags", "r2", "team", "y"),
            ("tags", "r3", "team", "x"),
            ("tags", "r4", "team", "x"),
            ("tags", "r4", "note", "a*b?c[d]"),
        ] {
            conn.execute(
                &format!("INSERT INTO {table} (run_id, key, value) VALUES (?, ?, ?)"),
                [run, key, value],
            )
            .unwrap();
        }
        for (run, key, value) in [
            ("r1", "acc", Some(0.95)),
            ("r1", "val loss", Some(0.3)),
            ("r2", "acc", Some(0.85)),
            ("r3", "acc", Some(0.99)),
            ("r4", "acc", None), // NaN
        ] {
            conn.execute(
                "INSERT INTO latest_metrics (run_id, key, value, is_nan, step, timestamp) \
                 VALUES (?, ?, ?, ?, 0, 0)",
                rusqlite::params![run, key, value, value.is_none()],
            )
            .unwrap();
        }
        for (digest, name) in [("aaa", "mnist"), ("bbb", "cifar")] {
            conn.execute(
                "INSERT INTO datasets (digest, name, source_type, source, created) \
                 VALUES (?, ?, 'local', 'file://x', 0)",
                [digest, name],
            )
            .unwrap();
        }
        for (run, digest, context) in [
            ("r1", "aaa", "train"),
            ("r2", "bbb", "train"),
            ("r3", "aaa", "eval"),
        ] {
            conn.execute(
                "INSERT INTO run_inputs (run_id, digest, context) VALUES (?, ?, ?)",
                [run, digest, context],
            )
            .unwrap();
        }
        conn
    }

    /// Runs the compiled search the way the store embeds it.
    fn run_compiled(conn: &Connection, c: &CompiledSearch) -> rusqlite::Result<Vec<String>> {
        let sql = format!(
            "SELECT r.run_id FROM runs r {} WHERE r.experiment_id IN (1, 2) \
             AND r.lifecycle_stage = 'active' AND ({}) ORDER BY {} LIMIT ? OFFSET ?",
            c.joins, c.where_sql, c.order_sql
        );
        let mut params = c.params.clone();
        params.push(Value::Integer(1000));
        params.push(Value::Integer(0));
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(params), |row| row.get::<_, String>(0))?;
        rows.collect()
    }

    fn search(conn: &Connection, filter: &str, order: &[&str]) -> Vec<String> {
        let order: Vec<String> = order.iter().map(|s| s.to_string()).collect();
        let compiled = compile_run_search(filter, &order)
            .unwrap_or_else(|e| panic!("{filter:?} / {order:?} failed: {e}"));
        run_compiled(conn, &compiled).unwrap_or_else(|e| panic!("{filter:?}: SQL failed: {e}"))
    }

    /// Filter results in the default order (start_time DESC, run_id ASC: r3 r4 r2 r1 r5).
    fn ids(conn: &Connection, filter: &str) -> Vec<String> {
        search(conn, filter, &[])
    }

    #[test]
    fn empty_filter_matches_everything_in_default_order() {
        let conn = db();
        let c = compile_run_search("  \t ", &[]).unwrap();
        assert_eq!(c.where_sql, "1");
        assert_eq!(c.joins, "");
        assert_eq!(c.order_sql, "r.start_time DESC, r.run_id ASC");
        assert!(c.params.is_empty());
        // r3 and r4 share a start time: run_id breaks the tie.
        assert_eq!(ids(&conn, ""), ["r3", "r4", "r2", "r1", "r5"]);
    }

    #[test]
    fn mlflow_example() {
        let conn = db();
        let f = "metrics.acc > 0.9 AND params.lr = '0.01' AND tags.team = 'x' \
                 AND attributes.status = 'FINISHED'";
        assert_eq!(ids(&conn, f), ["r1"]);
        let lower = "metric.acc > 0.9 and param.lr = \"0.01\" and tag.team = 'x' \
                     and run.status = 'FINISHED'";
        assert_eq!(ids(&conn, lower), ["r1"]);
    }

    #[test]
    fn or_parentheses_and_precedence() {
        let conn = db();
        assert_eq!(
            ids(
                &conn,
                "(params.model = 'CNN' OR params.model = 'cnn') AND metrics.acc < 0.9"
            ),
            ["r2"]
        );
        // AND binds tighter than OR.
        assert_eq!(
            ids(
                &conn,
                "params.model = 'CNN' OR params.model = 'cnn' AND metrics.acc > 0.9"
            ),
            ["r1"]
        );
        assert_eq!(
            ids(
                &conn,
                "((tags.team = 'y') or (attributes.user_id = 'carol'))"
            ),
            ["r4", "r2"]
        );
    }

    #[test]
    fn not() {
        let conn = db();
        // Runs without the tag are included.
        assert_eq!(ids(&conn, "NOT tags.team = 'x'"), ["r2", "r5"]);
        assert_eq!(
            ids(
                &conn,
                "not (attributes.status = 'FINISHED' OR attributes.status = 'RUNNING')"
            ),
            ["r5"]
        );
        assert_eq!(ids(&conn, "NOT NOT tags.team = 'y'"), ["r2"]);
        assert_eq!(
            ids(&conn, "NOT tags.team = 'x' AND params.lr IS NULL"),
            Vec::<String>::new()
        );
        // NOT binds tighter than AND.
        assert_eq!(
            ids(&conn, "NOT tags.team = 'x' AND tags.team = 'y'"),
            ["r2"]
        );
        // A run without an end time is in the complement of an end_time comparison.
        assert_eq!(ids(&conn, "attributes.end_time < 3500"), ["r2", "r1", "r5"]);
        assert_eq!(ids(&conn, "NOT attributes.end_time < 3500"), ["r3", "r4"]);
    }

    #[test]
    fn like_is_case_sensitive_and_ilike_is_not() {
        let conn = db();
        assert_eq!(ids(&conn, "params.model LIKE 'c%'"), ["r2"]);
        assert_eq!(ids(&conn, "params.model ILIKE 'c%'"), ["r2", "r1"]);
        assert_eq!(ids(&conn, "params.model LIKE 'RNN-___'"), ["r3"]);
        assert_eq!(
            ids(&conn, "params.model LIKE 'RNN-__'"),
            Vec::<String>::new()
        );
        assert_eq!(ids(&conn, "params.model ILIKE 'rnn%'"), ["r3"]);
        assert_eq!(
            ids(&conn, "attributes.run_name LIKE 'e%'"),
            Vec::<String>::new()
        );
        assert_eq!(ids(&conn, "attributes.run_name ILIKE 'e%'"), ["r5"]);
        // Escapes and GLOB metacharacters are literal.
        assert_eq!(ids(&conn, r"params.model LIKE '50\%\_off'"), ["r4"]);
        assert_eq!(ids(&conn, r"params.model ILIKE '50\%\_OFF'"), ["r4"]);
        assert_eq!(
            ids(&conn, r"params.model LIKE '50\%off'"),
            Vec::<String>::new()
        );
        assert_eq!(ids(&conn, "params.model LIKE '50%off'"), ["r4"]);
        assert_eq!(ids(&conn, "tags.note LIKE 'a*b?c[d]'"), ["r4"]);
        assert_eq!(ids(&conn, "tags.note ILIKE 'A*B?C[D]'"), ["r4"]);
        assert_eq!(ids(&conn, "tags.note LIKE 'a*%'"), ["r4"]);
        assert_eq!(ids(&conn, "tags.note LIKE '*'"), Vec::<String>::new());
        assert_eq!(ids(&conn, "tags.note LIKE 'a_b%'"), ["r4"]);
        assert_eq!(ids(&conn, "attributes.experiment_id LIKE '2%'"), ["r5"]);
        assert_eq!(ids(&conn, "datasets.name ILIKE 'MN%'"), ["r3", "r1"]);
    }

    #[test]
    fn is_null_and_in() {
        let conn = db();
        assert_eq!(ids(&conn, "params.lr IS NULL"), ["r4"]);
        assert_eq!(
            ids(&conn, "tags.team is not null"),
            ["r3", "r4", "r2", "r1"]
        );
        assert_eq!(
            ids(&conn, "params.model IN ('CNN', \"RNN-big\")"),
            ["r3", "r1"]
        );
        // NOT IN, like !=, needs the key to be present.
        assert_eq!(
            ids(&conn, "params.model NOT IN ('CNN')"),
            ["r3", "r4", "r2"]
        );
        assert_eq!(ids(&conn, "attributes.run_id IN ('r1','r5')"), ["r1", "r5"]);
        assert_eq!(ids(&conn, "run_id NOT IN ('r1','r5','r4')"), ["r3", "r2"]);
        assert_eq!(ids(&conn, "attributes.experiment_id = '2'"), ["r5"]);
        assert_eq!(ids(&conn, "attributes.experiment_id IN (2, '1')").len(), 5);
        assert_eq!(ids(&conn, "attributes.experiment_id != 1"), ["r5"]);
        assert_eq!(ids(&conn, "datasets.digest IN ('bbb')"), ["r2"]);
        assert_eq!(ids(&conn, "datasets.context = 'eval'"), ["r3"]);
        assert_eq!(ids(&conn, "datasets.name = 'mnist'"), ["r3", "r1"]);
        assert_eq!(ids(&conn, "dataset.name NOT IN ('mnist')"), ["r2"]);
    }

    #[test]
    fn not_equal_needs_the_key() {
        let conn = db();
        assert_eq!(ids(&conn, "params.lr != '0.01'"), ["r2", "r5"]);
        assert_eq!(ids(&conn, "tags.team != 'x'"), ["r2"]);
        // A NaN satisfies no comparison.
        assert_eq!(ids(&conn, "metrics.acc != 0.5"), ["r3", "r2", "r1"]);
        assert_eq!(ids(&conn, "metrics.acc > -1e3"), ["r3", "r2", "r1"]);
        assert_eq!(ids(&conn, "metrics.acc >= 9.5e-1"), ["r3", "r1"]);
        assert_eq!(ids(&conn, "metrics.acc=0.85"), ["r2"]);
    }

    #[test]
    fn quoted_keys_and_strings() {
        let conn = db();
        assert_eq!(ids(&conn, "metrics.`val loss` < 0.5"), ["r1"]);
        assert_eq!(ids(&conn, "metrics.\"val loss\" < 0.5"), ["r1"]);
        assert_eq!(ids(&conn, "tags.\"mlflow.user\" = 'alice'"), ["r1"]);
        assert_eq!(ids(&conn, "tags.mlflow.user = 'alice'"), ["r1"]);
        assert_eq!(ids(&conn, "params.note = 'it''s'"), ["r2"]);
        assert_eq!(ids(&conn, r"params.note = 'it\'s'"), ["r2"]);
        assert_eq!(ids(&conn, "params.note = \"it's\""), ["r2"]);
        assert_eq!(ids(&conn, "attributes.`run name` = 'beta'"), ["r2"]);
        assert_eq!(ids(&conn, "status = 'KILLED'"), ["r5"]);
        assert_eq!(ids(&conn, "attributes.created >= 2000"), ["r3", "r4", "r2"]);
        assert_eq!(ids(&conn, "attributes.start_time = 500"), ["r5"]);
        assert_eq!(ids(&conn, "attributes.start_time < 1000.5"), ["r1", "r5"]);
    }

    #[test]
    fn order_by_metric_puts_nan_and_missing_last() {
        let conn = db();
        assert_eq!(
            search(&conn, "", &["metrics.acc DESC"]),
            ["r3", "r1", "r2", "r4", "r5"]
        );
        assert_eq!(
            search(&conn, "", &["metrics.acc"]),
            ["r2", "r1", "r3", "r4", "r5"]
        );
        assert_eq!(
            search(&conn, "attributes.status != 'KILLED'", &["metric.acc asc"]),
            ["r2", "r1", "r3", "r4"]
        );
    }

    #[test]
    fn order_by_params_tags_and_attributes() {
        let conn = db();
        // 0.001 < 0.01 (r1 and r3 tie: start_time DESC) < 0.1, then the run without lr.
        assert_eq!(
            search(&conn, "", &["params.lr ASC"]),
            ["r5", "r3", "r1", "r2", "r4"]
        );
        assert_eq!(
            search(&conn, "", &["params.lr DESC"]),
            ["r2", "r3", "r1", "r5", "r4"]
        );
        assert_eq!(
            search(&conn, "", &["tags.team DESC", "attributes.run_name"]),
            ["r2", "r1", "r4", "r3", "r5"]
        );
        let order = vec!["attributes.start_time ASC".to_owned()];
        let c = compile_run_search("", &order).unwrap();
        assert_eq!(c.order_sql, "r.start_time ASC, r.run_id ASC");
        assert_eq!(
            search(&conn, "", &["attributes.start_time ASC"]),
            ["r5", "r1", "r2", "r3", "r4"]
        );
        assert_eq!(
            search(&conn, "", &["created DESC", "run_id DESC"]),
            ["r4", "r3", "r2", "r1", "r5"]
        );
        assert_eq!(
            search(&conn, "", &["attributes.end_time DESC"]),
            ["r4", "r2", "r1", "r5", "r3"]
        );
        assert_eq!(
            search(&conn, "", &["attributes.user_id", "metrics.acc DESC"]),
            ["r3", "r1", "r2", "r5", "r4"]
        );
    }

    #[test]
    fn params_follow_joins_then_where() {
        let conn = db();
        let order = vec!["metrics.acc DESC".to_owned(), "params.model".to_owned()];
        let c = compile_run_search("tags.team = 'x' OR metrics.`val loss` < 1", &order).unwrap();
        assert_eq!(
            c.params,
            [
                Value::Text("acc".into()),
                Value::Text("model".into()),
                Value::Text("team".into()),
                Value::Text("x".into()),
                Value::Text("val loss".into()),
                Value::Real(1.0),
            ]
        );
        assert_eq!(run_compiled(&conn, &c).unwrap(), ["r3", "r1", "r4"]);
    }

    #[test]
    fn error_message_names_token_position_and_expectation() {
        let err = compile_run_search("metrics.acc >> 1", &[]).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }));
        assert_eq!(
            err.to_string(),
            "invalid filter \"metrics.acc >> 1\": expected a comparator (=, !=, <, <=, >, >=) \
             after metrics.acc at position 12, found \">>\""
        );
        let err = compile_run_search("params.lr > '1'", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("LIKE") && err.contains("after params.lr") && err.contains("\">\""),
            "{err}"
        );
        let err = compile_run_search("é = 'x' AND foo.bar = 1", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("position 0"), "{err}");
        let err = compile_run_search("tags.é = 'x' AND foo.bar = 1", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("position 17") && err.contains("found \"foo.bar\""),
            "{err}"
        );
        let order = vec!["metrics.acc".to_owned(), "metric.acc DESC".to_owned()];
        let err = compile_run_search("", &order).unwrap_err().to_string();
        assert!(err.contains("metrics.acc is already ordered by"), "{err}");
        let order = vec![
            "created".to_owned(),
            "attributes.start_time DESC".to_owned(),
        ];
        let err = compile_run_search("", &order).unwrap_err().to_string();
        assert!(
            err.contains("attributes.start_time is already ordered by"),
            "{err}"
        );
        let err = compile_run_search("(metrics.acc > 1", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(
                "(unbalanced '(' at position 0) at position 16, found the end of the text"
            ),
            "{err}"
        );
    }

    #[test]
    fn bad_filters_are_rejected() {
        let deep_parens = format!("{}metrics.a > 1{}", "(".repeat(1000), ")".repeat(1000));
        let deep_not = format!("{}metrics.a > 1", "NOT ".repeat(1000));
        let bad: &[&str] = &[
            "metrics.acc >> 1",
            "foo.acc > 1",
            "metrics. > 1",
            "metrics.acc",
            "metrics.acc >",
            "metrics.acc > ",
            "params.lr = 'abc",
            "params.lr = \"abc",
            "params.lr = 'abc\\'",
            "params.lr > '1'",
            "metrics.acc LIKE 'x'",
            "metrics.acc IS NULL",
            "metrics.acc > abc",
            "metrics.acc > '0.9'",
            "metrics.acc > 1x",
            "metrics.acc > 1.2.3",
            "metrics.acc > nan",
            "metrics.acc > inf",
            "metrics.acc > -",
            "metrics.acc > .",
            "params.lr = 0.01",
            "params.lr = lr",
            "metrics.acc > 1 garbage",
            "metrics.acc > 1 AND",
            "metrics.acc > 1 AND AND metrics.acc < 2",
            "metrics.acc > 1 OR OR metrics.acc < 0",
            "AND metrics.acc > 1",
            "metrics.acc > 1 && params.x = 'b'",
            "(metrics.acc > 1",
            "metrics.acc > 1)",
            "((metrics.acc > 1)",
            "()",
            "(",
            ")",
            "NOT",
            "NOT ()",
            "attributes.foo = 'x'",
            "datasets.foo = 'x'",
            "datasets.name > 'x'",
            "attributes.start_time = 'x'",
            "attributes.status > 'x'",
            "attributes.status IS NULL",
            "attributes.experiment_id = 1.5",
            "attributes.run_id = r1",
            "params.lr IN ()",
            "params.lr IN ('a',)",
            "params.lr IN 'a'",
            "params.lr IN ('a'",
            "params.lr IN ('a' 'b')",
            "params.lr IS 'x'",
            "params.lr IS NOT 'x'",
            "params.lr NOT 'x'",
            "params.lr NOT LIKE 'x'",
            "metrics.`acc > 1",
            "metrics.\"acc > 1",
            "metrics.`` > 1",
            "acc > 1",
            "'x' = params.lr",
            "1 = 1",
            "params.lr == 'x'",
            "params.lr <> 'x'",
            "params.lr = 'x' ;",
            "params.lr = 'x'; DROP TABLE runs",
            ".acc > 1",
            "metrics..acc",
            &deep_parens,
            &deep_not,
        ];
        for filter in bad {
            match compile_run_search(filter, &[]) {
                Err(Error::InvalidInput { what, .. }) => assert_eq!(what, "filter"),
                other => panic!("{filter:?} should be rejected, got {other:?}"),
            }
        }
        // Nesting within the limit is fine.
        let ok = format!("{}metrics.a > 1{}", "(".repeat(30), ")".repeat(30));
        assert!(compile_run_search(&ok, &[]).is_ok());
    }

    #[test]
    fn bad_order_by_is_rejected() {
        let bad: &[&[&str]] = &[
            &["metrics.acc UP"],
            &["metrics.acc DESC extra"],
            &["metrics.acc DESC,"],
            &[""],
            &["   "],
            &["foo.bar"],
            &["acc"],
            &["datasets.name"],
            &["attributes.nope"],
            &["metrics."],
            &["metrics.`acc"],
            &["metrics.acc", "metrics.acc DESC"],
            &["attributes.created", "attributes.start_time DESC"],
            &["params.lr", "param.`lr`"],
        ];
        for order in bad {
            let order: Vec<String> = order.iter().map(|s| s.to_string()).collect();
            match compile_run_search("", &order) {
                Err(Error::InvalidInput { what, .. }) => assert_eq!(what, "order_by clause"),
                other => panic!("{order:?} should be rejected, got {other:?}"),
            }
        }
        // The same key under two types is not a duplicate.
        let order = vec![
            "params.lr".to_owned(),
            "tags.lr".to_owned(),
            "metrics.lr".to_owned(),
        ];
        assert!(compile_run_search("", &order).is_ok());
    }

    /// A tiny deterministic generator (no external crates).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Asserts that compiling never panics and that whatever compiles is valid SQL with one
    /// value per placeholder.
    fn check(conn: &Connection, filter: &str, order: &[String]) {
        if let Ok(c) = compile_run_search(filter, order) {
            let marks = [&c.joins, &c.where_sql, &c.order_sql]
                .iter()
                .map(|s| s.matches('?').count())
                .sum::<usize>();
            assert_eq!(marks, c.params.len(), "{filter:?} {order:?}");
            if let Err(e) = run_compiled(conn, &c) {
                panic!("{filter:?} {order:?} compiled to bad SQL: {e}\n{c:?}");
            }
        }
    }

    #[test]
    fn fuzz_never_panics_and_compiles_to_valid_sql() {
        let conn = db();
        let mut rng = Lcg(0x5eed);
        // Random bytes, lossily decoded (multi-byte and replacement characters included).
        for _ in 0..3000 {
            let len = rng.below(40);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            check(&conn, &text, &[]);
            check(&conn, "", std::slice::from_ref(&text));
        }
        // Random sequences of plausible tokens reach deep into the parser.
        const VOCAB: &[&str] = &[
            "metrics.acc",
            "params.lr",
            "tags.`x y`",
            "tags.mlflow.user",
            "attributes.status",
            "attributes.end_time",
            "attributes.experiment_id",
            "datasets.name",
            "created",
            "run_id",
            " AND ",
            " OR ",
            "NOT ",
            "(",
            ")",
            "=",
            "!=",
            ">",
            "<=",
            " LIKE ",
            " ILIKE ",
            " IN ",
            " NOT IN ",
            " IS NULL",
            " IS NOT NULL",
            "'a'",
            "\"b%\"",
            "'_\\%'",
            "1.5",
            "-2e3",
            "7",
            ",",
            "é",
            " ",
            "'",
            "`",
            "\"",
            "\\",
            "ASC",
            "DESC",
            "metrics.",
            "😀",
            "'it''s'",
        ];
        for _ in 0..20000 {
            let n = 1 + rng.below(12);
            let text: String = (0..n).map(|_| VOCAB[rng.below(VOCAB.len())]).collect();
            check(&conn, &text, &[]);
            if rng.below(8) == 0 {
                check(&conn, "", &[text]);
            }
        }
        // Well-formed clauses combined at random must all compile and run.
        const CLAUSES: &[&str] = &[
            "metrics.acc > 0.5",
            "params.lr = '0.01'",
            "tags.team IS NULL",
            "attributes.end_time >= 2000",
            "datasets.context IN ('train', 'eval')",
            "params.model LIKE '%N%'",
            "attributes.experiment_id IN (1, 2)",
            "run_name ILIKE 'A%'",
            "tags.note NOT IN ('a')",
        ];
        const ORDERS: &[&str] = &[
            "metrics.acc DESC",
            "params.lr",
            "tags.team desc",
            "attributes.start_time",
            "attributes.end_time DESC",
            "run_id",
            "metrics.`val loss`",
        ];
        for _ in 0..2000 {
            let mut filter = String::new();
            for i in 0..1 + rng.below(5) {
                if i > 0 {
                    filter.push_str([" AND ", " OR ", " AND NOT "][rng.below(3)]);
                }
                let clause = CLAUSES[rng.below(CLAUSES.len())];
                if rng.below(3) == 0 {
                    filter.push_str(&format!("({clause})"));
                } else {
                    filter.push_str(clause);
                }
            }
            let mut order: Vec<String> = Vec::new();
            for _ in 0..rng.below(3) {
                let o = ORDERS[rng.below(ORDERS.len())].to_owned();
                if !order.contains(&o) {
                    order.push(o);
                }
            }
            let compiled = compile_run_search(&filter, &order);
            assert!(compiled.is_ok(), "{filter:?} {order:?}: {compiled:?}");
            check(&conn, &filter, &order);
        }
    }

    #[test]
    fn long_filters_stay_shallow() {
        let conn = db();
        let clauses: Vec<String> = (0..2000).map(|i| format!("params.lr = '{i}'")).collect();
        let filter = clauses.join(" OR ");
        assert_eq!(
            ids(&conn, &format!("{filter} OR params.lr = '0.1'")),
            ["r2"]
        );
    }
}
