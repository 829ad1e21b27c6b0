//! rust-i18n embeds `locales/` at compile time, but cargo cannot see that
//! dependency; without this an edited catalog would not be rebuilt.
fn main() {
    println!("cargo:rerun-if-changed=locales");
}
