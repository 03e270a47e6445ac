//! The tera templates, embedded in the binary (the image needs no files beside it).
//! Autoescaping is on for every `.html` template, so task text always shows as text.

use std::sync::LazyLock;

use tera::{Context, Tera};

const TEMPLATES: [(&str, &str); 6] = [
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("index.html", include_str!("../templates/index.html")),
    ("edit.html", include_str!("../templates/edit.html")),
    ("delete.html", include_str!("../templates/delete.html")),
    ("error.html", include_str!("../templates/error.html")),
];

static TERA: LazyLock<Tera> = LazyLock::new(|| {
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES)
        .expect("the embedded templates parse");
    tera
});

/// Parses the templates now, so a broken template stops the start-up instead of a page.
pub fn load() {
    LazyLock::force(&TERA);
}

/// Renders `name`. The templates are fixed and tested, so a failure is a bug: it is logged and
/// the caller gets a plain message instead of a page.
pub fn render(name: &str, context: &Context) -> Result<String, tera::Error> {
    TERA.render(name, context)
        .inspect_err(|e| log::error!("rendering {name}: {e:?}"))
}
