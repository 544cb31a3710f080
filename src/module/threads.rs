//! The image work on an nginx thread pool, the way the copy filter runs
//! `aio threads` (`ngx_http_copy_thread_handler` and
//! `ngx_http_copy_thread_event_handler` in ngx_http_copy_filter_module.c):
//! post a task, keep `r->main->blocked` and `r->aio` raised while it runs, and
//! resume the request from a completion handler on the event loop.
//!
//! In front of the pool sits the worker's admission control
//! ([`crate::admission`]): at most `image_resize_rs_jobs` tasks are posted at
//! once; the rest wait in a bounded FIFO, each under a deadline. A request
//! that ends while its job waits takes the job (and its body) out of the
//! queue (a request cleanup, which `ngx_http_terminate_request` runs); one
//! that ends while its job runs sets the job's cancel flag, which the pipeline
//! checks between stages.
//!
//! The pool thread touches nothing of nginx's: the task's `ctx` is a `Box`ed
//! [`Job`] (the body and the settings, owned), and the thread only runs
//! [`crate::pipeline::run_cancellable`] on it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use crate::admission::Shed;
use crate::pipeline::{self, Reply, Settings};

/// What [`pipeline::run`] made of a body, plus the body (the original is
/// what "as is" sends).
pub(crate) struct Finished {
    pub body: Vec<u8>,
    pub result: Result<Reply, Failure>,
    pub elapsed_us: u64,
    pub stages: pipeline::Stages,
}

impl Finished {
    /// A job that never ran.
    pub(crate) fn shed(body: Vec<u8>, why: Shed) -> Finished {
        Finished {
            body,
            result: Err(Failure::Shed(why)),
            elapsed_us: 0,
            stages: Default::default(),
        }
    }
}

/// Why a job gave no reply.
pub(crate) enum Failure {
    Pipeline(pipeline::Error),
    Panic,
    /// Not run: the worker is overloaded.
    Shed(Shed),
}

/// Test-only faults that act on the pool thread.
#[derive(Clone, Copy, Default)]
pub(crate) struct ThreadFaults {
    /// Panic inside the thread.
    pub panic: bool,
    /// Sleep this long before the work (a slow job).
    pub sleep_ms: u64,
}

/// What travels to the pool thread and back.
pub(crate) struct Job {
    body: Vec<u8>,
    settings: Settings,
    faults: ThreadFaults,
    cancel: Arc<AtomicBool>,
    done: Option<Finished>,
}

/// Runs the pipeline; a panic becomes [`Failure::Panic`]. Called on a pool
/// thread, or inline.
pub(crate) fn run_job(
    body: Vec<u8>,
    settings: &Settings,
    faults: ThreadFaults,
    cancel: &AtomicBool,
) -> Finished {
    if faults.sleep_ms > 0 {
        std::thread::sleep(std::time::Duration::from_millis(faults.sleep_ms));
    }
    let t = Instant::now();
    let mut stages = pipeline::Stages::default();
    let result = catch_unwind(AssertUnwindSafe(|| {
        if faults.panic {
            panic!("image_resize_rs fault injection: thread_panic");
        }
        pipeline::run(&body, settings, &mut stages, cancel)
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
pub(crate) use imp::{hold, init_worker, post, saturated, Pool, Slot};

#[cfg(ngx_feature = "threads")]
mod imp {
    use core::cell::{Cell, RefCell};
    use core::ffi::c_void;
    use core::ptr;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use ngx::ffi::{
        ngx_add_timer, ngx_connection_t, ngx_del_timer, ngx_event_t, ngx_http_cleanup_add,
        ngx_http_log_ctx_t, ngx_http_request_t, ngx_http_run_posted_requests, ngx_log_t,
        ngx_thread_pool_t, ngx_thread_task_alloc, ngx_thread_task_post, ngx_thread_task_t,
        NGX_LOG_WARN, NGX_OK,
    };
    use ngx::http::Request;

    use super::{run_job, Failure, Finished, Job, ThreadFaults};
    use crate::admission::{self, Admit, Limits, Scheduler, Shed};
    use crate::module::filter;
    use crate::pipeline::Settings;

    /// A pool resolved at configuration time (`ngx_thread_pool_add`).
    pub(crate) type Pool = *mut ngx_thread_pool_t;

    /// A running job logs a warning every 60 s, and keeps a worker that is
    /// shutting down alive until it is back (timers hold `nginx -s quit`), as
    /// the copy filter's timer does.
    const TIMER_MS: usize = 60_000;

    /// One request's part in the worker's scheduling, kept in its filter
    /// context (request pool, so its address is stable while the request
    /// lives; the request lives while its job waits or runs: it is blocked).
    pub(crate) struct Slot {
        state: SlotState,
        r: *mut ngx_http_request_t,
        task: *mut ngx_thread_task_t,
        pool: Pool,
        /// Bytes of this request's body counted in the scheduler's `held`.
        held: usize,
    }

    enum SlotState {
        Idle,
        /// In the worker's queue under `id`, the task's timer the deadline.
        Queued {
            id: u64,
            job: Box<Job>,
        },
        /// Posted to the pool; the thread owns the Job.
        Posted {
            cancel: Arc<AtomicBool>,
        },
    }

    impl Default for Slot {
        fn default() -> Self {
            Slot {
                state: SlotState::Idle,
                r: ptr::null_mut(),
                task: ptr::null_mut(),
                pool: ptr::null_mut(),
                held: 0,
            }
        }
    }

    impl Drop for Slot {
        fn drop(&mut self) {
            // The request pool is going: nothing of ours may wait (the
            // request cleanup took a queued job out; a posted one kept the
            // request blocked), but never leave the queue a dangling slot.
            if let SlotState::Queued { id, .. } = self.state {
                let _ = SCHED.try_with(|sc| sc.borrow_mut().remove(id));
            }
            release(self);
        }
    }

    thread_local! {
        /// The worker's scheduler (the event loop's thread only).
        static SCHED: RefCell<Scheduler<*mut Slot>> = RefCell::new(Scheduler::default());
        /// `image_resize_rs_jobs`, `auto` resolved (an http{}-level value:
        /// the same for every location).
        static JOBS: Cell<usize> = const { Cell::new(1) };
        /// `auto`, worked out once per worker ([`init_worker`]).
        static AUTO_JOBS: Cell<usize> = const { Cell::new(1) };
        /// Connections whose writes we hold back while their jobs wait:
        /// how many jobs, and whether we set `c->write->delayed`.
        static DELAYED: RefCell<HashMap<usize, (u32, bool)>> = RefCell::new(HashMap::new());
    }

    fn set_limits(limits: &Limits) -> usize {
        let jobs = limits.jobs.unwrap_or_else(|| AUTO_JOBS.with(Cell::get));
        JOBS.with(|j| j.set(jobs));
        jobs
    }

    fn jobs() -> usize {
        JOBS.with(Cell::get).max(1)
    }

    /// `auto`: the CPUs this worker may run on, divided by worker_processes.
    fn auto_jobs() -> usize {
        // SAFETY: plain syscall into a local set.
        let cpus = unsafe {
            let mut set: libc::cpu_set_t = core::mem::zeroed();
            if libc::sched_getaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
                libc::CPU_COUNT(&set) as usize
            } else {
                1
            }
        };
        // SAFETY: the cycle's core configuration is set before any request.
        let workers = unsafe {
            let ccf = *(*ngx::ffi::ngx_cycle)
                .conf_ctx
                .add(ngx::ffi::ngx_core_module.index)
                as *const ngx::ffi::ngx_core_conf_t;
            if ccf.is_null() {
                1
            } else {
                (*ccf).worker_processes.max(1) as usize
            }
        };
        admission::auto_jobs(cpus, workers)
    }

    /// Before the origin is asked: is the worker so busy that this request
    /// would be shed anyway?
    pub(crate) fn saturated(limits: &Limits) -> Option<Shed> {
        let jobs = set_limits(limits);
        SCHED.with(|sc| sc.borrow().saturated(jobs, limits))
    }

    /// In each worker before any request (its CPU affinity is set): the
    /// `auto` job count; and large allocations (bodies, decoded images,
    /// libjpeg's coefficient buffers) are mmap()ed and go back to the
    /// system when freed. glibc's default raises its mmap
    /// threshold after the first such free (up to 32 MB), and from then on
    /// keeps every body-sized block in the heap of whichever pool thread
    /// ran the job.
    pub(crate) fn init_worker() {
        AUTO_JOBS.with(|a| a.set(auto_jobs()));
        #[cfg(target_env = "gnu")]
        // SAFETY: a malloc tunable, set before the pool threads allocate.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        }
    }

    /// [`init_worker`]'s threshold.
    #[cfg(target_env = "gnu")]
    const MMAP_THRESHOLD: i32 = 1 << 20;

    thread_local! {
        /// The worker's trim task ([`trim_when_idle`]), and whether it is
        /// posted.
        static TRIM: Cell<(*mut ngx_thread_task_t, bool)> =
            const { Cell::new((ptr::null_mut(), false)) };
    }

    /// When the worker's last job is back and none waits: give the freed
    /// heap pages of every pool thread's arena back to the system
    /// (`malloc_trim`), so an idle worker returns to its idle size. It runs
    /// as a task of its own on the pool, after the reply is on its way:
    /// never on the event loop, never in a request's time.
    fn trim_when_idle(pool: Pool) {
        let (mut task, posted) = TRIM.with(Cell::get);
        if posted {
            return;
        }
        // SAFETY: a task from the cycle's pool, made once per worker; its
        // event's log is the cycle's (ngx_thread_task_alloc zeroes it).
        unsafe {
            if task.is_null() {
                let cycle = ngx::ffi::ngx_cycle;
                task = ngx_thread_task_alloc((*cycle).pool, 0);
                if task.is_null() {
                    return;
                }
                (*task).handler = Some(trim_handler);
                (*task).event.handler = Some(trim_done);
                (*task).event.log = (*cycle).log;
            }
            let ok = ngx_thread_task_post(pool, task) == NGX_OK as isize;
            TRIM.with(|t| t.set((task, ok)));
        }
    }

    /// On a pool thread.
    unsafe extern "C" fn trim_handler(_data: *mut c_void, _log: *mut ngx_log_t) {
        #[cfg(target_env = "gnu")]
        // SAFETY: glibc's own housekeeping, thread-safe.
        unsafe {
            libc::malloc_trim(0);
        }
    }

    unsafe extern "C" fn trim_done(_ev: *mut ngx_event_t) {
        TRIM.with(|t| t.set((t.get().0, false)));
    }

    /// At the response header: count `len` announced bytes against the
    /// queue's size bound, or say why not.
    pub(crate) fn hold(slot: &mut Slot, len: usize, limits: &Limits) -> Result<(), Shed> {
        SCHED.with(|s| s.borrow_mut().hold(len, limits))?;
        slot.held = len;
        Ok(())
    }

    fn release(slot: &mut Slot) {
        if slot.held > 0 {
            let n = core::mem::take(&mut slot.held);
            // try_with: a request pool freed at worker exit, after the TLS.
            let _ = SCHED.try_with(|s| s.borrow_mut().release(n));
        }
    }

    /// The body is complete: run it now, queue it, or give it back shed.
    /// On `Ok` the request is blocked until the job's outcome reaches
    /// [`filter::job_done`].
    pub(crate) fn post(
        r: &mut Request,
        slot: *mut Slot,
        pool: Pool,
        limits: &Limits,
        body: Vec<u8>,
        settings: Settings,
        faults: ThreadFaults,
    ) -> Result<(), (Vec<u8>, Shed)> {
        let rp: *mut ngx_http_request_t = (r as *mut Request).cast();
        // SAFETY: the slot lives in the request's context; no other
        // reference to it exists while the filter runs.
        let s = unsafe { &mut *slot };
        let jobs = set_limits(limits);
        if s.task.is_null() {
            // SAFETY: a zero-size task from the request pool, checked; it
            // outlives its use because the request stays blocked meanwhile.
            let task = unsafe { ngx_thread_task_alloc((*rp).pool, 0) };
            // SAFETY: a cleanup from the request pool, checked.
            let cln = unsafe { ngx_http_cleanup_add(rp, 0) };
            if task.is_null() || cln.is_null() {
                release(s);
                return Err((body, Shed::PoolFull));
            }
            // SAFETY: fresh allocations of ours.
            unsafe {
                (*cln).handler = Some(cleanup);
                (*cln).data = slot.cast();
                // ngx_thread_task_alloc zeroes the event; its timer's
                // expiry logs through ev->log (ngx_thread_read sets it too).
                (*task).event.log = (*(*rp).connection).log;
                (*task).event.data = slot.cast();
                (*task).event.handler = Some(event_handler);
            }
            s.task = task;
        }
        s.r = rp;
        s.pool = pool;
        // A body read without Content-Length is held now that it is whole.
        let len = body.len();
        SCHED.with(|sc| sc.borrow_mut().rehold(s.held, len));
        s.held = len;

        let job = Box::new(Job {
            body,
            settings,
            faults,
            cancel: Arc::new(AtomicBool::new(false)),
            done: None,
        });
        let admit = SCHED.with(|sc| sc.borrow_mut().admit(jobs, limits, len));
        match admit {
            Admit::Run => match start(s, job) {
                Ok(()) => release(s),
                // The pool's own queue is full (its max_queue): wait at the
                // head of ours for a job of ours to end, if one runs.
                Err(job) if SCHED.with(|sc| sc.borrow().running()) > 1 => {
                    let id = SCHED.with(|sc| sc.borrow_mut().requeue(slot));
                    queue(s, id, job, limits);
                }
                Err(job) => {
                    SCHED.with(|sc| sc.borrow_mut().finished());
                    release(s);
                    return Err((job.body, Shed::PoolFull));
                }
            },
            Admit::Queue => {
                let id = SCHED.with(|sc| sc.borrow_mut().push(slot));
                queue(s, id, job, limits);
            }
            Admit::Shed(why) => {
                release(s);
                return Err((job.body, why));
            }
        }
        hold_writes(rp);
        Ok(())
    }

    fn queue(s: &mut Slot, id: u64, job: Box<Job>, limits: &Limits) {
        s.state = SlotState::Queued { id, job };
        // SAFETY: the task's event is ours while the task is not posted.
        unsafe { ngx_add_timer(&mut (*s.task).event, limits.timeout_ms as _) };
    }

    /// Posts the job; on failure (the pool's own queue is full) gives it back.
    fn start(s: &mut Slot, job: Box<Job>) -> Result<(), Box<Job>> {
        let cancel = job.cancel.clone();
        let raw = Box::into_raw(job);
        // SAFETY: the task is ours and not posted; the Job is reclaimed
        // exactly once, in event_handler() or right below.
        unsafe {
            let task = s.task;
            (*task).ctx = raw.cast();
            (*task).handler = Some(thread_handler);
            if ngx_thread_task_post(s.pool, task) != NGX_OK as isize {
                (*task).ctx = ptr::null_mut();
                return Err(Box::from_raw(raw));
            }
            ngx_add_timer(&mut (*task).event, TIMER_MS as _);
            // Posted: the pool holds the task (request-pool memory), so the
            // request must not be freed until it is back, whatever happens
            // to it meanwhile (ngx_http_copy_thread_handler does the same).
            let main = (*s.r).main;
            (*main).set_blocked((*main).blocked() + 1);
        }
        s.state = SlotState::Posted { cancel };
        Ok(())
    }

    /// Starts waiting jobs while slots are free.
    fn pump() {
        loop {
            let next = SCHED.with(|sc| sc.borrow_mut().next(jobs()));
            let Some((_, slot)) = next else { return };
            // SAFETY: a queued slot's request is alive (blocked); the queue
            // held the only reference.
            let s = unsafe { &mut *slot };
            let SlotState::Queued { job, .. } = core::mem::replace(&mut s.state, SlotState::Idle)
            else {
                continue;
            };
            // start() turns the deadline timer into the running job's.
            match start(s, job) {
                Ok(()) => release(s),
                Err(job) if SCHED.with(|sc| sc.borrow().running()) > 1 => {
                    // The pool is full for now: first in line again, under
                    // the same deadline (its timer still runs).
                    let id = SCHED.with(|sc| sc.borrow_mut().requeue(slot));
                    s.state = SlotState::Queued { id, job };
                    return;
                }
                Err(job) => {
                    SCHED.with(|sc| sc.borrow_mut().finished());
                    release(s);
                    finish(s, Finished::shed(job.body, Shed::PoolFull));
                }
            }
        }
    }

    /// How much lower than the worker's the pool threads' priority is: when
    /// the cores are busy, the event loop (cache hits, proxying) runs first
    /// and the resizes take what is left.
    const POOL_NICE: i32 = 5;

    thread_local! {
        static NICED: Cell<bool> = const { Cell::new(false) };
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
        // SAFETY: data is the Job start() leaked; the event loop does not
        // touch it until event_handler() runs, after this returns.
        let job = unsafe { &mut *(data as *mut Job) };
        let body = core::mem::take(&mut job.body);
        job.done = Some(run_job(body, &job.settings, job.faults, &job.cancel));
    }

    /// On the event loop: the task is back from the pool, or its timer
    /// fired (the queue's deadline, or the running job's 60 s alert).
    unsafe extern "C" fn event_handler(ev: *mut ngx_event_t) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: ev is the event of a task of ours; its data is the
            // slot, whose request stayed alive (blocked) since.
            unsafe { on_event(ev, &mut *((*ev).data as *mut Slot)) }
        }));
    }

    /// SAFETY: `ev` is `s.task`'s event, called by nginx on the event loop.
    unsafe fn on_event(ev: *mut ngx_event_t, s: &mut Slot) {
        // SAFETY: the request is alive; this is ngx_http_set_log_request().
        unsafe {
            let c = (*s.r).connection;
            let lctx = (*(*c).log).data as *mut ngx_http_log_ctx_t;
            if !lctx.is_null() {
                (*lctx).current_request = s.r;
            }
        }
        // SAFETY: reading and clearing flags of our own event.
        let timedout = unsafe { (*ev).timedout() != 0 };
        if timedout {
            // SAFETY: as above.
            unsafe { (*ev).set_timedout(0) };
        }
        match &s.state {
            SlotState::Idle => {}
            SlotState::Queued { id, .. } if timedout => {
                let id = *id;
                SCHED.with(|sc| sc.borrow_mut().remove(id));
                let SlotState::Queued { job, .. } =
                    core::mem::replace(&mut s.state, SlotState::Idle)
                else {
                    unreachable!()
                };
                release(s);
                finish(s, Finished::shed(job.body, Shed::Timeout));
            }
            SlotState::Queued { .. } => {}
            SlotState::Posted { .. } if timedout => {
                // SAFETY: the request's connection log.
                let log = unsafe { (*(*s.r).connection).log };
                ngx::ngx_log_error!(
                    NGX_LOG_WARN,
                    log,
                    "image_resize_rs: image processing takes more than {} s",
                    TIMER_MS / 1000
                );
                // SAFETY: re-arming our own event's timer.
                unsafe { ngx_add_timer(ev, TIMER_MS as _) };
            }
            SlotState::Posted { .. } => {
                // SAFETY: the thread pool is done with the task; its ctx is
                // the Job start() leaked.
                let mut job = unsafe {
                    if (*ev).timer_set() != 0 {
                        ngx_del_timer(ev);
                    }
                    let task = s.task;
                    let job = Box::from_raw((*task).ctx as *mut Job);
                    (*task).ctx = ptr::null_mut();
                    job
                };
                s.state = SlotState::Idle;
                // SAFETY: start() raised it.
                unsafe {
                    let main = (*s.r).main;
                    (*main).set_blocked((*main).blocked() - 1);
                }
                SCHED.with(|sc| sc.borrow_mut().finished());
                // The next job starts before this reply is sent.
                pump();
                if SCHED.with(|sc| {
                    let sc = sc.borrow();
                    sc.running() == 0 && sc.queued() == 0
                }) {
                    trim_when_idle(s.pool);
                }
                let done = job.done.take().unwrap_or(Finished {
                    body: Vec::new(),
                    result: Err(Failure::Panic),
                    elapsed_us: 0,
                    stages: Default::default(),
                });
                drop(job);
                finish(s, done);
            }
        }
    }

    /// The job's outcome is known: unblock the request, hand the outcome to
    /// the filter, and resume the request as the copy filter does.
    fn finish(s: &mut Slot, done: Finished) {
        let r = s.r;
        // SAFETY: our task's event; the request is alive until unblocked.
        unsafe {
            if (*s.task).event.timer_set() != 0 {
                ngx_del_timer(&mut (*s.task).event);
            }
        }
        // Other jobs of this connection may still wait: its writes are let
        // through for this reply and held back again after it.
        let held_back = release_writes(r);
        // SAFETY: the request is alive; the filter reaches its own Ctx.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            filter::job_done(unsafe { Request::from_ngx_http_request(r) }, done)
        }));
        // SAFETY: as in ngx_http_copy_thread_event_handler.
        unsafe {
            let c = (*r).connection;
            if filter::is_http2(r) {
                // HTTP/2: make sure processing reaches the main connection.
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
            if held_back {
                delay_writes(c);
            }
        }
    }

    /// `ngx_http_terminate_request` (client gone, send timeout, error) or
    /// the end of the request: a queued job is dropped with its body, a
    /// running one is told to stop at its next stage.
    unsafe extern "C" fn cleanup(data: *mut c_void) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: data is the slot post() registered; the request pool
            // (and the Ctx in it) is still there.
            let s = unsafe { &mut *(data as *mut Slot) };
            match &s.state {
                SlotState::Idle => {}
                SlotState::Posted { cancel } => cancel.store(true, Ordering::Relaxed),
                SlotState::Queued { id, .. } => {
                    let id = *id;
                    SCHED.with(|sc| sc.borrow_mut().remove(id));
                    s.state = SlotState::Idle; // drops the Job and the body
                    release(s);
                    // SAFETY: our task's deadline timer.
                    unsafe {
                        if (*s.task).event.timer_set() != 0 {
                            ngx_del_timer(&mut (*s.task).event);
                        }
                    }
                    // nginx goes on terminating the request once nothing
                    // blocks it.
                    // The connection is being terminated: nothing to resume.
                    let _ = release_writes(s.r);
                }
            }
        }));
    }

    /// The request waits for a job: its writer does nothing (`r->aio`), and
    /// `send_timeout` does not run: nginx arms no send timer for a
    /// connection whose writes are delayed (as `limit_rate` delays them),
    /// so the module's own deadline governs the wait. A waiting request is
    /// kept alive by its own reference (it is not finished) and, if it is
    /// terminated, its cleanup takes the job out of the queue.
    fn hold_writes(r: *mut ngx_http_request_t) {
        // SAFETY: bitfields of a live request and its connection's event.
        unsafe {
            (*r).set_aio(1);
            let c = (*r).connection;
            DELAYED.with(|d| d.borrow_mut().entry(c as usize).or_insert((0, false)).0 += 1);
            delay_writes(c);
        }
    }

    /// Undoes [`hold_writes`]. The connection's writes are let through (if
    /// we held them back); returns whether other jobs of the connection
    /// still wait, so that the caller holds them back again after this reply.
    fn release_writes(r: *mut ngx_http_request_t) -> bool {
        // SAFETY: as in hold_writes().
        unsafe {
            (*r).set_aio(0);
            let c: *mut ngx_connection_t = (*r).connection;
            DELAYED.with(|d| {
                let mut d = d.borrow_mut();
                let Some(e) = d.get_mut(&(c as usize)) else {
                    return false;
                };
                e.0 -= 1;
                if e.1 {
                    (*(*c).write).set_delayed(0);
                    e.1 = false;
                }
                if e.0 == 0 {
                    d.remove(&(c as usize));
                    return false;
                }
                true
            })
        }
    }

    /// Holds back the writes of a connection that still has jobs waiting
    /// (see [`hold_writes`]), unless something else delays them already.
    ///
    /// SAFETY: c is live (a blocked request of it still waits).
    unsafe fn delay_writes(c: *mut ngx_connection_t) {
        DELAYED.with(|d| {
            let mut d = d.borrow_mut();
            let Some(e) = d.get_mut(&(c as usize)) else {
                return;
            };
            // SAFETY: the connection's write event.
            unsafe {
                let wev = (*c).write;
                if !e.1 && (*wev).delayed() == 0 {
                    (*wev).set_delayed(1);
                    e.1 = true;
                    if (*wev).timer_set() != 0 {
                        ngx_del_timer(wev);
                    }
                }
            }
        });
    }
}

/// Without thread support in nginx there is no pool to post to.
#[cfg(not(ngx_feature = "threads"))]
pub(crate) type Pool = ();

#[cfg(not(ngx_feature = "threads"))]
#[derive(Default)]
pub(crate) struct Slot;

#[cfg(not(ngx_feature = "threads"))]
pub(crate) fn hold(_s: &mut Slot, _len: usize, _l: &crate::admission::Limits) -> Result<(), Shed> {
    Ok(())
}

#[cfg(not(ngx_feature = "threads"))]
pub(crate) fn post(
    _r: &mut ngx::http::Request,
    _slot: *mut Slot,
    _pool: Pool,
    _limits: &crate::admission::Limits,
    body: Vec<u8>,
    _settings: Settings,
    _faults: ThreadFaults,
) -> Result<(), (Vec<u8>, Shed)> {
    Err((body, Shed::PoolFull))
}

#[cfg(not(ngx_feature = "threads"))]
pub(crate) fn saturated(_l: &crate::admission::Limits) -> Option<Shed> {
    None
}

#[cfg(not(ngx_feature = "threads"))]
pub(crate) fn init_worker() {}
