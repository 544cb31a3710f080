//! The nginx glue: module statics, the exported module list, and filter
//! installation. Everything here is thin; the work happens in
//! [`crate::pipeline`] and [`crate::s3`].

mod conf;
mod eval;
mod fault;
mod filter;
mod job;
mod log;
mod metrics;
mod reply;
mod request;
mod s3vars;
mod sign;
mod vars;

#[cfg(feature = "export-modules")]
use core::ffi::c_char;
use core::ffi::c_void;
use core::ptr;

use ngx::core::Status;
use ngx::ffi::{
    ngx_command_t, ngx_conf_t, ngx_http_module_t, ngx_int_t, ngx_module_t, NGX_HTTP_MODULE,
};
use ngx::http::{HttpModule, HttpModuleLocationConf};

pub(crate) use conf::LocConf;

pub(crate) struct Module;

impl HttpModule for Module {
    fn module() -> &'static ngx_module_t {
        // SAFETY: the module static is written only by nginx during config load,
        // before any request handler can run.
        unsafe { &*ptr::addr_of!(ngx_http_image_resize_rs_module) }
    }

    unsafe extern "C" fn preconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
        // SAFETY: nginx calls preconfiguration with the http{} configuration
        // it is about to parse, and nothing else holds it during the call.
        let cf = unsafe { &mut *cf };
        match vars::add_variables(cf) {
            Ok(()) => Status::NGX_OK.into(),
            Err(_) => Status::NGX_ERROR.into(),
        }
    }

    unsafe extern "C" fn postconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
        use ngx::ffi::{
            ngx_array_push, ngx_http_handler_pt,
            ngx_http_phases_NGX_HTTP_ACCESS_PHASE as NGX_HTTP_ACCESS_PHASE,
            ngx_http_phases_NGX_HTTP_PRECONTENT_PHASE as NGX_HTTP_PRECONTENT_PHASE,
        };
        use ngx::http::{HttpModuleMainConf, NgxHttpCoreModule};
        // SAFETY: postconfiguration runs single-threaded in the master, before
        // any request, with the configuration it is finishing (whose core
        // main conf exists): our filters go on top of nginx's chain, as C
        // filters install themselves, and the precontent and access phases'
        // handler arrays get one more slot each (checked), as C modules push
        // theirs.
        // Shared memory zones are added while the cycle is configured.
        unsafe {
            reply::NEXT_HEADER_FILTER = ngx::ffi::ngx_http_top_header_filter;
            ngx::ffi::ngx_http_top_header_filter = Some(filter::HEADER_FILTER);
            reply::NEXT_BODY_FILTER = ngx::ffi::ngx_http_top_body_filter;
            ngx::ffi::ngx_http_top_body_filter = Some(filter::body_filter);
            let Some(cmcf) = NgxHttpCoreModule::main_conf_mut(&*cf) else {
                return Status::NGX_ERROR.into();
            };
            for (phase, handler) in [
                (NGX_HTTP_PRECONTENT_PHASE, filter::PRECONTENT_HANDLER),
                (NGX_HTTP_ACCESS_PHASE, sign::ACCESS_HANDLER),
            ] {
                let phase = &mut cmcf.phases[phase as usize];
                let Some(h) =
                    (ngx_array_push(&mut phase.handlers) as *mut ngx_http_handler_pt).as_mut()
                else {
                    return Status::NGX_ERROR.into();
                };
                *h = Some(handler);
            }
            // The metrics zone, whether or not a location shows it.
            match metrics::add_zone(&mut *cf) {
                Ok(()) => Status::NGX_OK.into(),
                Err(()) => Status::NGX_ERROR.into(),
            }
        }
    }
}

// SAFETY: LocConf is the type create_loc_conf allocates for this module.
unsafe impl HttpModuleLocationConf for Module {
    type LocationConf = LocConf;
}

static NGX_HTTP_IMAGE_RESIZE_RS_MODULE_CTX: ngx_http_module_t = ngx_http_module_t {
    preconfiguration: Some(Module::preconfiguration),
    postconfiguration: Some(Module::postconfiguration),
    create_main_conf: None,
    init_main_conf: None,
    create_srv_conf: None,
    merge_srv_conf: None,
    create_loc_conf: Some(Module::create_loc_conf),
    merge_loc_conf: Some(conf::merge_loc_conf),
};

#[used]
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut ngx_http_image_resize_rs_module: ngx_module_t = ngx_module_t {
    ctx: ptr::addr_of!(NGX_HTTP_IMAGE_RESIZE_RS_MODULE_CTX) as *mut c_void,
    // nginx reads the command table during config parsing only.
    commands: ptr::addr_of_mut!(conf::COMMANDS) as *mut ngx_command_t,
    type_: NGX_HTTP_MODULE as _,
    init_process: Some(job::init_process),
    exit_process: Some(metrics::exit_process),
    ..ngx_module_t::default()
};

// The module list a dynamic module exports (what nginx's `auto/module` writes
// into a C module's ngx_modules.c). `ngx::ngx_modules!` leaves
// `ngx_module_order` empty, which makes `load_module` append us at the very top
// of the output filter chain, above copy, range and not_modified filters. We
// ask for the place `auto/modules` gives `ngx_http_image_filter_module`: below
// the first of these that exists (nginx inserts us before the earliest one found
// in its module array, so the later names are fallbacks).
#[cfg(feature = "export-modules")]
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut ngx_modules: [*const ngx_module_t; 2] =
    [ptr::addr_of!(ngx_http_image_resize_rs_module), ptr::null()];

#[cfg(feature = "export-modules")]
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut ngx_module_names: [*const c_char; 2] =
    [c"ngx_http_image_resize_rs_module".as_ptr(), ptr::null()];

#[cfg(feature = "export-modules")]
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut ngx_module_order: [*const c_char; 8] = [
    c"ngx_http_image_resize_rs_module".as_ptr(),
    c"ngx_http_sub_filter_module".as_ptr(),
    c"ngx_http_addition_filter_module".as_ptr(),
    c"ngx_http_gunzip_filter_module".as_ptr(),
    c"ngx_http_userid_filter_module".as_ptr(),
    c"ngx_http_headers_filter_module".as_ptr(),
    c"ngx_http_copy_filter_module".as_ptr(),
    ptr::null(),
];
