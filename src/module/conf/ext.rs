//! The safe face of `ngx_conf_t` for directive handlers and merging (the
//! shape of nginx-acme's `NgxConfExt`): compiling complex values, declaring thread pools, and the one
//! error report. The raw pointers nginx hands a handler are dereferenced
//! here and in [`super::directives::handler`], nowhere else.

use core::ffi::c_char;
use core::fmt;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use ngx::core::NgxStr;
use ngx::core::{Pool, NGX_CONF_ERROR};
use ngx::ffi::{
    ngx_conf_t, ngx_http_compile_complex_value, ngx_http_compile_complex_value_t,
    ngx_http_complex_value_t, ngx_str_t, NGX_LOG_EMERG, NGX_OK,
};
use ngx::http::Request;

use crate::value;

/// A directive's complaint, printed after `"<directive>" directive `.
/// Anything printable converts into it, so handlers use `?` on the pure
/// parsers' errors.
pub(crate) struct ConfError(Box<dyn fmt::Display>);

impl<E: fmt::Display + 'static> From<E> for ConfError {
    fn from(e: E) -> Self {
        ConfError(Box::new(e))
    }
}

impl ConfError {
    fn text(&self) -> &dyn fmt::Display {
        &*self.0
    }
}

/// A compiled `ngx_http_complex_value_t`: a directive value with variables,
/// evaluated per request.
#[derive(Clone, Copy)]
pub(crate) struct Complex(&'static ngx_http_complex_value_t);

impl Complex {
    /// The value for this request; `None` when nginx cannot evaluate it.
    pub(crate) fn get<'r>(&self, r: &'r Request) -> Option<&'r NgxStr> {
        r.get_complex_value(self.0)
    }
}

impl fmt::Debug for Complex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Complex")
    }
}

/// The nginx thread pool type `ngx_thread_pool_add` returns.
#[cfg(ngx_feature = "threads")]
pub(crate) type ThreadPoolPtr = *mut ngx::ffi::ngx_thread_pool_t;

pub(crate) trait ConfExt {
    /// Compiles `arg` (a word of this directive) as a complex value. Its
    /// variable syntax is checked first: nginx's compiler quotes the whole
    /// argument in its errors, and the argument may be a secret.
    fn complex_value(&mut self, arg: ngx_str_t) -> Result<Complex, ConfError>;
    /// `ngx_thread_pool_add`: the pool `thread_pool NAME` declares (now or
    /// later), nginx's implicit "default" one for `None`; null on failure.
    #[cfg(ngx_feature = "threads")]
    fn thread_pool_add(&mut self, name: Option<ngx_str_t>) -> ThreadPoolPtr;
    /// A file named in the configuration, as `ngx_conf_full_name(cycle,
    /// name, 1)` makes it: a relative name is relative to nginx's
    /// configuration prefix (the directory of `nginx.conf`).
    fn conf_path(&self, name: &Path) -> PathBuf;
    /// An emerg-level line with nginx's ` in file:line` suffix; returns
    /// `NGX_CONF_ERROR` for the caller to hand back to nginx.
    fn emerg(&mut self, msg: impl fmt::Display) -> *mut c_char;
    /// A warn-level line with nginx's ` in file:line` suffix.
    #[cfg(not(ngx_feature = "threads"))]
    fn warn(&mut self, msg: &str);
    /// The one exit for directive errors:
    /// `"image_resize_rs" directive invalid parameter "x" in /etc/nginx/nginx.conf:12`.
    fn directive_error(&mut self, directive: &[u8], err: ConfError) -> *mut c_char {
        let name = String::from_utf8_lossy(directive);
        self.emerg(format_args!("\"{name}\" directive {}", err.text()))
    }
}

impl ConfExt for ngx_conf_t {
    fn complex_value(&mut self, mut arg: ngx_str_t) -> Result<Complex, ConfError> {
        value::check_variable_syntax(arg.as_bytes())?;
        // SAFETY: cf->pool is the configuration's pool, and cv a zeroed,
        // checked block of it; zero is also ngx_http_compile_complex_value_t's
        // initial state (C modules ngx_memzero it). The compiler gets this
        // live conf, the argument (its bytes are in cf->pool) and cv, which
        // it fills in place. cv outlives every request that evaluates it, so
        // the reference is good for the module's whole life with this
        // configuration.
        let cv = unsafe {
            let cv = Pool::from_ngx_pool(self.pool).calloc_type::<ngx_http_complex_value_t>();
            if cv.is_null() {
                return Err("out of memory".into());
            }
            let mut ccv: ngx_http_compile_complex_value_t = core::mem::zeroed();
            ccv.cf = self;
            ccv.value = &mut arg;
            ccv.complex_value = cv;
            if ngx_http_compile_complex_value(&mut ccv) != NGX_OK as isize {
                return Err("has an invalid variable reference".into());
            }
            &*cv
        };
        Ok(Complex(cv))
    }

    #[cfg(ngx_feature = "threads")]
    fn thread_pool_add(&mut self, name: Option<ngx_str_t>) -> ThreadPoolPtr {
        let mut name = name;
        let name = name
            .as_mut()
            .map_or(core::ptr::null_mut(), |n| n as *mut ngx_str_t);
        // SAFETY: this conf is being parsed; nginx copies the name (whose
        // bytes are in cf->pool) or takes NULL as "default".
        unsafe { ngx::ffi::ngx_thread_pool_add(self, name) }
    }

    fn conf_path(&self, name: &Path) -> PathBuf {
        if name.is_absolute() {
            return name.to_path_buf();
        }
        // SAFETY: a conf being parsed belongs to the cycle being configured
        // (live for the whole parse), whose conf_prefix nginx set before
        // parsing began; its bytes are in the cycle's pool.
        let prefix = unsafe { self.cycle.as_ref() }.map(|c| c.conf_prefix.as_bytes());
        Path::new(OsStr::from_bytes(prefix.unwrap_or_default())).join(name)
    }

    fn emerg(&mut self, msg: impl fmt::Display) -> *mut c_char {
        ngx::ngx_conf_log_error!(NGX_LOG_EMERG, self, "{}", msg);
        NGX_CONF_ERROR
    }

    #[cfg(not(ngx_feature = "threads"))]
    fn warn(&mut self, msg: &str) {
        ngx::ngx_conf_log_error!(ngx::ffi::NGX_LOG_WARN, self, "{}", msg);
    }
}
