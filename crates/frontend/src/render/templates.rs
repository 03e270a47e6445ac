//! The tera templates, embedded in the binary (the image needs no files beside it).
//! Autoescaping is on for every `.html` template, so task text always shows as text.
//!
//! The contract's facts the forms show come from `task-types` as tera functions (a macro sees no context):
//! `priorities()` (lowest first) and `title_max_chars()`.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Serialize;
use task_types::limits::TITLE_MAX_CHARS;
use task_types::Priority;
use tera::{Context, Tera, Value};

const TEMPLATES: [(&str, &str); 7] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("index.html", include_str!("../../templates/index.html")),
    (
        "task_row.html",
        include_str!("../../templates/task_row.html"),
    ),
    ("edit.html", include_str!("../../templates/edit.html")),
    ("delete.html", include_str!("../../templates/delete.html")),
    ("error.html", include_str!("../../templates/error.html")),
];

static TERA: LazyLock<Tera> = LazyLock::new(|| {
    let mut tera = Tera::default();
    tera.set_escape_fn(escape_html);
    tera.register_function("priorities", constant(Priority::names()));
    tera.register_function("title_max_chars", constant(TITLE_MAX_CHARS));
    tera.add_raw_templates(TEMPLATES)
        .expect("the embedded templates parse");
    tera
});

/// A tera function without arguments that returns `value`.
fn constant(value: impl serde::Serialize) -> impl tera::Function {
    let value = tera::to_value(value).expect("a constant serializes");
    move |_: &HashMap<String, Value>| Ok(value.clone())
}

/// Parses the templates now, so a broken template stops the start-up instead of a page.
pub fn load() {
    LazyLock::force(&TERA);
}

/// Renders `name` as UTF-8 bytes (a response body needs no `String`). The templates are fixed and
/// tested, so a failure is a bug: it is logged and the caller gets a plain message instead of a page.
pub fn render(name: &str, context: &Context) -> Result<Vec<u8>, tera::Error> {
    // The size of a list page of 20; larger pages grow the buffer a few times.
    let mut html = Vec::with_capacity(32 * 1024);
    render_into(name, context, &mut html)?;
    Ok(html)
}

/// `name` rendered onto the end of `out`, a failure logged as [`render`] says.
fn render_into(name: &str, context: &Context, out: &mut Vec<u8>) -> Result<(), tera::Error> {
    TERA.render_to(name, context, out)
        .inspect_err(|e| log::error!("rendering {name}: {e:?}"))
}

/// Pieces of HTML, each rendered from a template (so autoescaped like every page), for a page to
/// show as they are (`| safe`): a list renders its rows this way. Nothing else goes in but fixed
/// text between them.
pub struct Fragments(Vec<u8>);

impl Fragments {
    pub fn with_capacity(bytes: usize) -> Self {
        Fragments(Vec::with_capacity(bytes))
    }

    /// Appends `name` rendered with `context`, then `after`.
    pub fn push(
        &mut self,
        name: &str,
        context: &Context,
        after: &'static str,
    ) -> Result<(), tera::Error> {
        render_into(name, context, &mut self.0)?;
        self.0.extend_from_slice(after.as_bytes());
        Ok(())
    }
}

/// As a string value of the page's context.
impl Serialize for Fragments {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let html = std::str::from_utf8(&self.0).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(html)
    }
}

/// tera's own `escape_html`, character for character (`&<>"'/`), but copying the text between
/// them in one piece instead of pushing every character: a list page escapes each value it shows.
fn escape_html(input: &str) -> String {
    let mut output = String::with_capacity(input.len() + input.len() / 8);
    let mut plain = 0;
    for (i, byte) in input.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#x27;",
            b'/' => "&#x2F;",
            _ => continue,
        };
        // ASCII bytes never fall inside a multi-byte character, so `i` is a character boundary.
        output.push_str(&input[plain..i]);
        output.push_str(entity);
        plain = i + 1;
    }
    output.push_str(&input[plain..]);
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_is_teras_own() {
        for text in [
            "",
            "plain text",
            "<script>alert('x')</script> & \"quotes\" / slashes",
            "é<ü>ß&日本語/'\"",
            "&&&<<<",
            "tail/",
        ] {
            assert_eq!(escape_html(text), tera::escape_html(text), "{text}");
        }
    }

    /// The forms offer exactly the priorities and title bound of the contract, from its constants.
    #[test]
    fn the_forms_show_the_contract_constants() {
        let mut tera = TERA.clone();
        tera.add_raw_template(
            "probe",
            "{% import \"macros.html\" as m %}{{ m::task_fields(form=form, errors=errors, rows=3) }}",
        )
        .unwrap();
        let mut context = Context::new();
        context.insert(
            "form",
            &serde_json::json!({"title": "", "description": "", "priority": "high"}),
        );
        context.insert(
            "errors",
            &serde_json::json!({"title": null, "description": null, "priority": null}),
        );
        let html = tera.render("probe", &context).unwrap();
        assert!(
            html.contains(&format!("maxlength=\"{TITLE_MAX_CHARS}\"")),
            "{html}"
        );
        let offered: Vec<&str> = html
            .split("<option value=\"")
            .skip(1)
            .map(|o| o.split('"').next().unwrap())
            .collect();
        assert_eq!(offered, Priority::names());
        assert!(html.contains("<option value=\"high\" selected>"), "{html}");
    }
}
