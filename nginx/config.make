# Makefile fragment: cargo builds the Rust code as a static library against
# this very nginx tree (NGINX_BUILD_DIR), without the ngx_modules exports that
# nginx's generated ngx_modules.c provides. cargo tracks its own dependencies,
# so it is always invoked.

ngx_irs_manifest="$ngx_addon_dir/../Cargo.toml"
ngx_irs_module="$NGX_OBJS$ngx_dirsep$ngx_addon_name$ngx_modext"

cat << END                                                  >> $NGX_MAKEFILE

$ngx_irs_lib: .NGX_IRS_ALWAYS
	NGINX_BUILD_DIR="\$(CURDIR)/$NGX_OBJS" NGINX_SOURCE_DIR="\$(CURDIR)" \\
	cargo rustc --manifest-path "$ngx_irs_manifest" --lib --release \\
		--crate-type staticlib --no-default-features --features module \\
		--target-dir "$NGX_OBJS/image_resize_rs"

.NGX_IRS_ALWAYS: ;

$ngx_irs_module: $ngx_irs_lib

END
