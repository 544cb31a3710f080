//! The image work on an nginx thread pool, the way the copy filter runs
//! `aio threads` (`ngx_http_copy_thread_handler` and
//! `ngx_http_copy_thread_event_handler` in ngx_http_copy_filter_module.c):
//! post a task, keep `r->main->blocked` and `r->aio` raised while it runs, and
//! resume the request from a completion handler on the event loop.
//!
//! The pool thread touches nothing of nginx's: the task's `ctx` is a `Box`ed
//! [`Job`] (the body and the settings, owned), and the thread only runs
//! [`crate::pipeline::run`] on it. nginx's own code moves the task between
//! threads; the request, its pool and its log stay on the event loop.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use super::filter::{Failure, Finished};
use crate::pipeline::{self, Settings};

/// Result of [`post`].
pub(crate) enum Posted {
    /// The job is queued; the request is blocked until it is back.
    Yes,
    /// Not queued (queue full, or no memory for the task): the body back,
    /// to be processed inline.
    No(Vec<u8>),
}

/// What travels to the pool thread and back.
struct Job {
    body: Vec<u8>,
    settings: Settings,
    /// Test-only fault injection: panic inside the thread.
    panic: bool,
    done: Option<Finished>,
}

/// Runs the pipeline; a panic becomes [`Failure::Panic`]. Called on a pool
/// thread, or inline.
pub(crate) fn run_job(body: Vec<u8>, settings: &Settings, panic: bool) -> Finished {
    let t = Instant::now();
    let mut stages = pipeline::Stages::default();
    let result = catch_unwind(AssertUnwindSafe(|| {
        if panic {
            panic!("image_resize_rs fault injection: thread_panic");
        }
        pipeline::run_staged(&body, settings, &mut stages)
    }));
    let result = match result {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(e)) => Err(Failure::Pipeline(e)),
        Err(_) => Err(Failure::Panic),
    };
    Finished {
        body,
        result,
        elapsed_us: t.elapsed().as_micros() as u64,
        stages,
    }
}

#[cfg(ngx_feature = "threads")]
pub(crate) use imp::{post, Pool};

#[cfg(ngx_feature = "threads")]
mod imp {
    use core::ffi::c_void;
    use core::mem::offset_of;

    use ngx::ffi::{
        ngx_add_timer, ngx_del_timer, ngx_event_t, ngx_http_log_ctx_t, ngx_http_request_t,
        ngx_http_run_posted_requests, ngx_log_t, ngx_thread_pool_t, ngx_thread_task_alloc,
        ngx_thread_task_post, ngx_thread_task_t, NGX_LOG_ALERT, NGX_OK,
    };
    use ngx::http::Request;

    use super::{run_job, Job, Posted};
    use crate::module::filter;
    use crate::module::filter::{Failure, Finished};
    use crate::pipeline::Settings;

    /// A pool resolved at configuration time (`ngx_thread_pool_add`).
    pub(crate) type Pool = *mut ngx_thread_pool_t;

    /// Keeps a worker that is shutting down alive until the job is back
    /// (timers hold `nginx -s quit`), as the copy filter's 60 s timer does.
    const TIMER_MS: usize = 60_000;

    /// Queues the job; on success the request is blocked until [`completion`].
    pub(crate) fn post(
        r: &mut Request,
        pool: Pool,
        body: Vec<u8>,
        settings: Settings,
        panic: bool,
    ) -> Posted {
        let rp: *mut ngx_http_request_t = (r as *mut Request).cast();
        // SAFETY: a zero-size task from the request pool, checked; the pool
        // outlives the task because the request stays blocked until completion.
        let task = unsafe { ngx_thread_task_alloc((*rp).pool, 0) };
        if task.is_null() {
            return Posted::No(body);
        }
        let job = Box::into_raw(Box::new(Job {
            body,
            settings,
            panic,
            done: None,
        }));
        // SAFETY: task is a fresh, zeroed task; job is a leaked Box reclaimed
        // exactly once, in completion() or right below.
        unsafe {
            (*task).ctx = job.cast();
            (*task).handler = Some(thread_handler);
            (*task).event.data = rp.cast();
            (*task).event.handler = Some(completion);
            if ngx_thread_task_post(pool, task) != NGX_OK as isize {
                let job = Box::from_raw(job);
                return Posted::No(job.body);
            }
            ngx_add_timer(&mut (*task).event, TIMER_MS as _);
            (*(*rp).main).set_blocked((*(*rp).main).blocked() + 1);
            (*rp).set_aio(1);
        }
        Posted::Yes
    }

    /// How much lower than the worker's the pool threads' priority is: when
    /// the cores are busy, the event loop (cache hits, proxying) runs first
    /// and the resizes take what is left.
    const POOL_NICE: i32 = 5;

    thread_local! {
        static NICED: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    }

    /// Once per pool thread: lower its own scheduling priority (on Linux,
    /// `setpriority(PRIO_PROCESS, 0)` applies to the calling thread only).
    fn lower_priority() {
        NICED.with(|done| {
            if done.replace(true) {
                return;
            }
            #[cfg(target_os = "linux")]
            // SAFETY: plain syscalls on the calling thread.
            unsafe {
                let now = libc::getpriority(libc::PRIO_PROCESS, 0);
                libc::setpriority(libc::PRIO_PROCESS, 0, (now + POOL_NICE).min(19));
            }
        });
    }

    /// On the pool thread: only the Job, never nginx memory (not even `log`).
    unsafe extern "C" fn thread_handler(data: *mut c_void, _log: *mut ngx_log_t) {
        lower_priority();
        // SAFETY: data is the Job post() leaked; the event loop does not touch
        // it until completion() runs, after this returns.
        let job = unsafe { &mut *(data as *mut Job) };
        let body = core::mem::take(&mut job.body);
        job.done = Some(run_job(body, &job.settings, job.panic));
    }

    /// On the event loop, when nginx's thread pool reports the task done (or
    /// the timer fires).
    unsafe extern "C" fn completion(ev: *mut ngx_event_t) {
        // SAFETY: ev is the event of the task post() queued; its data is the
        // request, which stayed alive (blocked) since.
        unsafe {
            let r = (*ev).data as *mut ngx_http_request_t;
            let c = (*r).connection;
            // ngx_http_set_log_request()
            let lctx = (*(*c).log).data as *mut ngx_http_log_ctx_t;
            if !lctx.is_null() {
                (*lctx).current_request = r;
            }

            if (*ev).timedout() != 0 {
                ngx::ngx_log_error!(
                    NGX_LOG_ALERT,
                    (*c).log,
                    "image_resize_rs: image processing takes more than {} s",
                    TIMER_MS / 1000
                );
                (*ev).set_timedout(0);
                ngx_add_timer(ev, TIMER_MS as _);
                return;
            }
            if (*ev).timer_set() != 0 {
                ngx_del_timer(ev);
            }

            let task =
                (ev as *mut u8).sub(offset_of!(ngx_thread_task_t, event)) as *mut ngx_thread_task_t;
            let mut job = Box::from_raw((*task).ctx as *mut Job);
            (*task).ctx = core::ptr::null_mut();

            (*(*r).main).set_blocked((*(*r).main).blocked() - 1);
            (*r).set_aio(0);

            let done = job.done.take().unwrap_or(Finished {
                body: Vec::new(),
                result: Err(Failure::Panic),
                elapsed_us: 0,
                stages: Default::default(),
            });
            drop(job);
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                filter::job_done(Request::from_ngx_http_request(r), done)
            }));

            if filter::is_http2(r) {
                // HTTP/2: make sure processing reaches the main connection
                // (as the copy filter does).
                (*(*c).write).set_ready(1);
                (*(*c).write).set_active(0);
            }

            if (*r).done() != 0 || (*c).error() != 0 {
                // Finalized or terminated meanwhile: the connection's handler
                // runs the request finalizer nginx has set.
                if let Some(h) = (*(*c).write).handler {
                    h((*c).write);
                }
            } else {
                if let Some(h) = (*r).write_event_handler {
                    h(r);
                }
                ngx_http_run_posted_requests(c);
            }
        }
    }
}

/// Without thread support in nginx there is no pool to post to.
#[cfg(not(ngx_feature = "threads"))]
pub(crate) type Pool = ();

#[cfg(not(ngx_feature = "threads"))]
pub(crate) fn post(
    _r: &mut ngx::http::Request,
    _pool: Pool,
    body: Vec<u8>,
    _settings: Settings,
    _panic: bool,
) -> Posted {
    Posted::No(body)
}
