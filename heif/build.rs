//! Bindings to the few libheif entry points `src/lib.rs` uses, from the
//! system's headers (libheif-dev, found by pkg-config), and the link.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let flags = std::process::Command::new("pkg-config")
        .args(["--cflags", "--libs", "libheif"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .expect("pkg-config libheif (is libheif-dev installed?)");
    let mut clang = Vec::new();
    for f in flags.split_whitespace() {
        if let Some(lib) = f.strip_prefix("-l") {
            println!("cargo::rustc-link-lib={lib}");
        } else if let Some(dir) = f.strip_prefix("-L") {
            println!("cargo::rustc-link-search=native={dir}");
        } else {
            clang.push(f.to_string());
        }
    }
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("heif.rs");
    bindgen::Builder::default()
        .header_contents("irs_heif.h", "#include <libheif/heif.h>\n")
        .clang_args(clang)
        .allowlist_function(
            "heif_context_alloc|heif_context_free|heif_context_read_from_memory_without_copy|\
             heif_context_get_primary_image_handle|heif_context_set_maximum_image_size_limit|\
             heif_image_handle_release|heif_image_handle_get_width|heif_image_handle_get_height|\
             heif_image_handle_has_alpha_channel|heif_image_handle_get_raw_color_profile_size|\
             heif_image_handle_get_raw_color_profile|heif_image_handle_get_nclx_color_profile|\
             heif_nclx_color_profile_free|heif_decoding_options_alloc|heif_decoding_options_free|\
             heif_decode_image|heif_image_get_plane_readonly|heif_image_release|\
             heif_image_get_width|heif_image_get_height",
        )
        .allowlist_type("heif_colorspace|heif_chroma|heif_channel|heif_error_code")
        .prepend_enum_name(false)
        .layout_tests(false)
        .generate()
        .expect("bindgen on <libheif/heif.h>")
        .write_to_file(out)
        .unwrap();
}
