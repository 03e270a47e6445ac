//! A JSON object read into a type with errors that say, by their variant, which rule of the shape broke.
//!
//! serde_json reports a missing or unknown field, or an unknown enum value, only as message text. So the
//! object is parsed by serde_json first (its errors are then syntax: malformed JSON), and its fields are
//! handed to the type through serde's value deserializers with [`FieldError`], which keeps serde's typed
//! callbacks (`missing_field`, `unknown_field`, ...) as variants instead of formatting them.

use std::fmt;

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde_json::Value;

/// A well-formed JSON object that does not fit the type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("missing field `{0}`")]
    Missing(&'static str),
    #[error("unknown field `{0}`")]
    Unknown(String),
    #[error("duplicate field `{0}`")]
    Duplicate(&'static str),
    /// A string outside an enumeration, such as the priority.
    #[error("unknown variant `{0}`")]
    UnknownVariant(String),
    /// A wrong type, in JSON's words ("must be a string, not a number"), or another wrong value in serde's.
    #[error("{0}")]
    WrongType(String),
}

impl de::Error for FieldError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        FieldError::WrongType(format!("is invalid: {message}"))
    }

    /// serde's own words name Rust's types ("invalid type: unit value, expected enum Priority"); a client
    /// sent JSON, so the kind of value is said as JSON says it.
    fn invalid_type(unexpected: de::Unexpected, expected: &dyn de::Expected) -> Self {
        let got = match unexpected {
            de::Unexpected::Unit => "null".to_owned(),
            de::Unexpected::Bool(_) => "a boolean".to_owned(),
            de::Unexpected::Unsigned(_) | de::Unexpected::Signed(_) | de::Unexpected::Float(_) => {
                "a number".to_owned()
            }
            de::Unexpected::Char(_) | de::Unexpected::Str(_) => "a string".to_owned(),
            de::Unexpected::Seq => "an array".to_owned(),
            de::Unexpected::Map => "an object".to_owned(),
            other => other.to_string(),
        };
        FieldError::WrongType(format!("must be {expected}, not {got}"))
    }

    fn missing_field(field: &'static str) -> Self {
        FieldError::Missing(field)
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        FieldError::Unknown(field.to_owned())
    }

    fn duplicate_field(field: &'static str) -> Self {
        FieldError::Duplicate(field)
    }

    fn unknown_variant(variant: &str, _expected: &'static [&'static str]) -> Self {
        FieldError::UnknownVariant(variant.to_owned())
    }
}

/// Why a body is not an object of the type.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("the body is empty")]
    Empty,
    #[error("the body is not a JSON object")]
    NotAnObject,
    /// Not JSON: bad syntax, cut off, nested too deep, or bytes after the object.
    #[error("malformed JSON: {0}")]
    Malformed(#[source] serde_json::Error),
    /// A field of the object, named by its path (`None`: the object itself).
    #[error("{error}")]
    Field {
        path: Option<String>,
        #[source]
        error: FieldError,
    },
}

/// Parses `body` as one JSON object of type `T`.
pub fn parse_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, ObjectError> {
    // serde also accepts a JSON array for a struct; the API only takes objects.
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(_) => return Err(ObjectError::NotAnObject),
        None => return Err(ObjectError::Empty),
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let Fields(fields) = de::Deserialize::deserialize(&mut deserializer)
        .and_then(|fields| deserializer.end().map(|()| fields))
        .map_err(ObjectError::Malformed)?;
    let object = MapDeserializer::new(fields.into_iter().map(|(name, value)| (name, Json(value))));
    serde_path_to_error::deserialize(object).map_err(|err| {
        let path = err.path().to_string();
        ObjectError::Field {
            path: (path != ".").then_some(path),
            error: err.into_inner(),
        }
    })
}

/// The object's fields in order, repeated names kept (so that the type sees, and refuses, a duplicate).
struct Fields(Vec<(String, Value)>);

impl<'de> de::Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry()? {
                    fields.push(field);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// A JSON value as a deserializer whose errors are [`FieldError`]s.
struct Json(Value);

impl<'de> IntoDeserializer<'de, FieldError> for Json {
    type Deserializer = Json;
    fn into_deserializer(self) -> Json {
        self
    }
}

impl<'de> Deserializer<'de> for Json {
    type Error = FieldError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (None, Some(i), _) => visitor.visit_i64(i),
                (None, None, f) => visitor.visit_f64(f.unwrap_or(f64::NAN)),
            },
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.into_iter().map(Json));
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Value::Object(map) => {
                let mut fields = MapDeserializer::new(map.into_iter().map(|(k, v)| (k, Json(v))));
                let value = visitor.visit_map(&mut fields)?;
                fields.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        match self.0 {
            Value::String(variant) => visitor.visit_enum(variant.into_deserializer()),
            other => Json(other).deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use task_types::{NewTask, Priority, TaskPatch};

    fn field_error<T: DeserializeOwned + fmt::Debug>(body: &str) -> (Option<String>, FieldError) {
        match parse_object::<T>(body.as_bytes()).unwrap_err() {
            ObjectError::Field { path, error } => (path, error),
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn each_shape_error_is_its_own_variant() {
        let cases: [(&str, Option<&str>, FieldError); 6] = [
            (r#"{}"#, None, FieldError::Missing("title")),
            (
                r#"{"title":"a","colour":1}"#,
                Some("colour"),
                FieldError::Unknown("colour".into()),
            ),
            (
                r#"{"title":"a","title":"b"}"#,
                None,
                FieldError::Duplicate("title"),
            ),
            (
                r#"{"title":"a","priority":"urgent"}"#,
                Some("priority"),
                FieldError::UnknownVariant("urgent".into()),
            ),
            (
                r#"{"title":42}"#,
                Some("title"),
                FieldError::WrongType("must be a string, not a number".into()),
            ),
            (
                r#"{"title":"a","completed":"yes"}"#,
                Some("completed"),
                FieldError::WrongType("must be a boolean, not a string".into()),
            ),
        ];
        for (body, path, error) in cases {
            let (got_path, got) = field_error::<NewTask>(body);
            assert_eq!(got, error, "{body}");
            assert_eq!(got_path.as_deref(), path, "{body}");
        }
    }

    #[test]
    fn valid_objects_read_as_serde_json_reads_them() {
        for body in [
            r#"{"title":" x ","description":null,"priority":"high","completed":true}"#,
            r#"{"title":"y"}"#,
            r#"  {"title":"z","priority":null}  "#,
        ] {
            assert_eq!(
                parse_object::<NewTask>(body.as_bytes()).unwrap(),
                serde_json::from_str::<NewTask>(body).unwrap()
            );
        }
        let patch: TaskPatch = parse_object(br#"{"priority":"low"}"#).unwrap();
        assert_eq!(patch.priority, Some(Priority::Low));
    }

    #[test]
    fn bodies_that_are_not_one_object_are_told_apart() {
        assert!(matches!(
            parse_object::<NewTask>(b" "),
            Err(ObjectError::Empty)
        ));
        for body in ["[]", "null", "\"x\""] {
            assert!(matches!(
                parse_object::<NewTask>(body.as_bytes()),
                Err(ObjectError::NotAnObject)
            ));
        }
        for body in ["{", "{\"title\": \"x\",}", "{\"title\": \"x\"} trailing"] {
            assert!(
                matches!(
                    parse_object::<NewTask>(body.as_bytes()),
                    Err(ObjectError::Malformed(_))
                ),
                "{body}"
            );
        }
    }
}
