//! Bindings to the few libaom encoder and decoder entry points `src/lib.rs` uses, from
//! the system's headers (libaom-dev), and the link to the system library.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-link-lib=aom");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("aom.rs");
    bindgen::Builder::default()
        .header_contents(
            "irs_aom.h",
            "#include <aom/aom_encoder.h>\n#include <aom/aomcx.h>\n#include <aom/aom_decoder.h>\n#include <aom/aomdx.h>\n",
        )
        .allowlist_function(
            "aom_codec_av1_cx|aom_codec_enc_config_default|aom_codec_enc_init_ver|\
             aom_codec_control|aom_codec_encode|aom_codec_get_cx_data|aom_codec_destroy|\
             aom_codec_error_detail|aom_codec_err_to_string|aom_img_wrap|\
             aom_codec_av1_dx|aom_codec_dec_init_ver|aom_codec_decode|aom_codec_get_frame",
        )
        .allowlist_var("AOM_ENCODER_ABI_VERSION|AOM_DECODER_ABI_VERSION|AOM_USAGE_ALL_INTRA")
        .allowlist_type(
            "aome_enc_control_id|aom_tune_metric|aom_rc_mode|aom_codec_cx_pkt_kind|aom_img_fmt",
        )
        .prepend_enum_name(false)
        .layout_tests(false)
        .generate()
        .expect("bindgen on <aom/aom_encoder.h> (is libaom-dev installed?)")
        .write_to_file(out)
        .unwrap();
}
