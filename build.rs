//! Exposes the configuration of the nginx we build against (from nginx-sys'
//! `DEP_NGINX_*` metadata, hence nginx-sys as a direct dependency) as
//! `cfg(ngx_feature = "...")` / `cfg(ngx_os = "...")`, so the glue can follow
//! nginx's own `#if (NGX_THREADS)`-style switches.

fn main() {
    for var in [
        "NGINX_SOURCE_DIR",
        "NGINX_BUILD_DIR",
        "DEP_NGINX_FEATURES",
        "DEP_NGINX_FEATURES_CHECK",
        "DEP_NGINX_OS",
        "DEP_NGINX_OS_CHECK",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    emit_cfg(
        "ngx_feature",
        "DEP_NGINX_FEATURES",
        "DEP_NGINX_FEATURES_CHECK",
    );
    emit_cfg("ngx_os", "DEP_NGINX_OS", "DEP_NGINX_OS_CHECK");
}

fn emit_cfg(name: &str, values_var: &str, check_var: &str) {
    // nginx-sys gives the list of every value it may report, already quoted.
    let known = std::env::var(check_var).unwrap_or_default();
    let known = if known.trim().is_empty() {
        "any()".to_string()
    } else {
        known
    };
    println!("cargo::rustc-check-cfg=cfg({name}, values({known}))");
    if let Ok(values) = std::env::var(values_var) {
        for v in values.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            println!("cargo::rustc-cfg={name}=\"{v}\"");
        }
    }
}
