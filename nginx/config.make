# Makefile fragment: the cargo rule that builds the Rust code as a static
# library against this very nginx tree (see auto/rust).

ngx_cargo_manifest=$ngx_addon_dir/../Cargo.toml

ngx_rust_make_modules
