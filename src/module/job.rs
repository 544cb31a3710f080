//! The job: the image work on an nginx thread pool, the way the copy filter runs
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
//! [`Job`] (a shared, read-only handle on the body, and the settings), and the thread only runs
//! [`crate::pipeline::run`] on it. When the outcome is known,
//! the job hands it to the callback its owner (the filter) gave [`post`],
//! then resumes the request.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use ngx::http::Request;

use crate::admission::Shed;
use crate::pipeline::{self, Reply, Settings};

/// Called on the event loop with the job's outcome, before the request is
/// resumed.
pub(crate) type OnDone = fn(&mut Request, Finished);

/// What [`pipeline::run`] made of a body (the body itself is shared: the
/// filter keeps its own handle on it, for "as is").
pub(crate) struct Finished {
    pub result: Result<Reply, Failure>,
    pub elapsed_us: u64,
    pub stages: pipeline::Stages,
}

impl Finished {
    /// A job that never ran.
    pub(crate) fn shed(why: Shed) -> Finished {
        Finished {
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
    /// The filter's body, shared (read-only) for as long as the job lives.
    body: Bytes,
    settings: Settings,
    faults: ThreadFaults,
    cancel: Arc<AtomicBool>,
    done: Option<Finished>,
}

/// Runs the pipeline; a panic becomes [`Failure::Panic`]. Called on a pool
/// thread, or inline.
pub(crate) fn run_job(
    body: &[u8],
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
        pipeline::run(body, settings, &mut stages, cancel)
    }));
    let result = match result {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(e)) => Err(Failure::Pipeline(e)),
        Err(_) => Err(Failure::Panic),
    };
    Finished {
        result,
        elapsed_us: t.elapsed().as_micros() as u64,
        stages,
    }
}

#[cfg(ngx_feature = "threads")]
pub(crate) use imp::{hold, init_process, post, saturated, Slot};

#[cfg(ngx_feature = "threads")]
mod imp {
    use core::cell::{Cell, RefCell};
    use core::ffi::c_void;
    use core::ptr;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use bytes::Bytes;
    use ngx::ffi::{
        ngx_add_timer, ngx_del_timer, ngx_event_t, ngx_http_cleanup_add, ngx_http_log_ctx_t,
        ngx_http_request_t, ngx_http_run_posted_requests, ngx_int_t, ngx_log_t, ngx_thread_pool_t,
        ngx_thread_task_alloc, ngx_thread_task_post, ngx_thread_task_t, NGX_LOG_WARN, NGX_OK,
    };
    use ngx::http::Request;

    use super::{run_job, Failure, Finished, Job, OnDone, ThreadFaults};
    use crate::admission::{self, Admit, Limits, Scheduler, Shed};
    use crate::module::metrics;
    use crate::module::request::{is_http2, write_event};
    use crate::pipeline::Settings;

    /// A pool resolved at configuration time (`ngx_thread_pool_add`).
    pub(crate) type Pool = *mut ngx_thread_pool_t;

    /// A running job logs a warning every 60 s, and keeps a worker that is
    /// shutting down alive until it is back (timers hold `nginx -s quit`), as
    /// the copy filter's timer does.
    const TIMER_MS: usize = 60_000;

    /// One request's part in the worker's scheduling, kept in its filter
    /// context (request pool, so its address is stable while the request
    /// lives; the request lives while its job waits or runs: it is blocked,
    /// or its cleanup takes the job out first). Shared, never `&mut`: the
    /// queue, the task's event and the request cleanup all reach it.
    pub(crate) struct Slot {
        state: RefCell<SlotState>,
        r: Cell<*mut ngx_http_request_t>,
        /// The task, from the request pool, made at the first post.
        task: Cell<*mut ngx_thread_task_t>,
        pool: Cell<Pool>,
        /// Bytes of this request's body counted in the scheduler's `held`.
        held: Cell<usize>,
        on_done: Cell<Option<OnDone>>,
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
                state: RefCell::new(SlotState::Idle),
                r: Cell::new(ptr::null_mut()),
                task: Cell::new(ptr::null_mut()),
                pool: Cell::new(ptr::null_mut()),
                held: Cell::new(0),
                on_done: Cell::new(None),
            }
        }
    }

    impl Slot {
        /// The slot's request.
        fn request<'a>(&self) -> &'a mut Request {
            // SAFETY: set by post() before the slot is queued, posted or
            // given a cleanup, and only read while one of those keeps the
            // request alive (its queue entry, its blocked count, or nginx
            // running the cleanup before it frees the request).
            unsafe { Request::from_ngx_http_request(self.r.get()) }
        }
    }

    impl Drop for Slot {
        fn drop(&mut self) {
            // The request pool is going: nothing of ours may wait (the
            // request cleanup took a queued job out; a posted one kept the
            // request blocked), but never leave the queue a dangling slot.
            if let SlotState::Queued { id, .. } = *self.state.borrow() {
                let _ = SCHED.try_with(|sc| {
                    let mut sc = sc.borrow_mut();
                    sc.remove(id);
                    metrics::publish(sc.queued(), sc.running(), sc.held());
                });
            }
            release(self);
        }
    }

    thread_local! {
        /// The worker's scheduler (the event loop's thread only).
        static SCHED: RefCell<Scheduler<*const Slot>> = RefCell::new(Scheduler::default());
        /// `image_resize_rs_jobs`, `auto` resolved (an http{}-level value:
        /// the same for every location).
        static JOBS: Cell<usize> = const { Cell::new(1) };
        /// `auto`, worked out once per worker ([`init_worker`]).
        static AUTO_JOBS: Cell<usize> = const { Cell::new(1) };
        /// Connections whose writes we hold back while their jobs wait:
        /// how many jobs, and whether we set `c->write->delayed`.
        static DELAYED: RefCell<HashMap<usize, (u32, bool)>> = RefCell::new(HashMap::new());
        /// The worker's trim task ([`trim_when_idle`]), and whether it is
        /// posted.
        static TRIM: Cell<(*mut ngx_thread_task_t, bool)> =
            const { Cell::new((ptr::null_mut(), false)) };
    }

    /// Changes the worker's scheduling, then publishes its gauges.
    fn sched<T>(f: impl FnOnce(&mut Scheduler<*const Slot>) -> T) -> T {
        SCHED.with(|sc| {
            let mut sc = sc.borrow_mut();
            let out = f(&mut sc);
            metrics::publish(sc.queued(), sc.running(), sc.held());
            out
        })
    }

    fn set_limits(limits: &Limits) -> usize {
        let jobs = limits.jobs.unwrap_or_else(|| AUTO_JOBS.with(Cell::get));
        JOBS.with(|j| j.set(jobs));
        jobs
    }

    fn jobs() -> usize {
        JOBS.with(Cell::get).max(1)
    }

    /// Before the origin is asked: is the worker so busy that this request
    /// would be shed anyway?
    pub(crate) fn saturated(limits: &Limits) -> Option<Shed> {
        let jobs = set_limits(limits);
        SCHED.with(|sc| sc.borrow().saturated(jobs, limits))
    }

    /// The module's init_process, in each worker before any request (its
    /// CPU affinity is set):
    /// - the `auto` job count: the CPUs this worker may use (affinity and
    ///   cgroup quota, as `std::thread::available_parallelism` reads them),
    ///   divided by worker_processes;
    /// - large allocations (bodies, decoded images, libjpeg's coefficient
    ///   buffers) are mmap()ed and go back to the system when freed.
    ///   glibc's default raises its mmap threshold after the first such
    ///   free (up to 32 MB), and from then on keeps every body-sized block
    ///   in the heap of whichever pool thread ran the job;
    /// - the task that trims the heaps when the worker goes idle.
    pub(crate) unsafe extern "C" fn init_process(cycle: *mut ngx::ffi::ngx_cycle_t) -> ngx_int_t {
        use ngx::core::{CoreModuleMainConf, NgxCoreModule};
        // SAFETY: nginx calls init_process with the worker's live cycle. The
        // malloc tunable is set before the pool threads allocate. The trim
        // task comes from the cycle's pool (it lives as long as the worker)
        // and its event gets the cycle's log (ngx_thread_task_alloc zeroes
        // it, and a timer or debug line would read it).
        let cycle = unsafe {
            #[cfg(target_env = "gnu")]
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            let cycle = &*cycle;
            if let Some(task) = ngx_thread_task_alloc(cycle.pool, 0).as_mut() {
                // No Job: thread_handler trims (ngx_thread_task_alloc
                // points ctx past the task, at its zero-size payload).
                task.ctx = ptr::null_mut();
                task.handler = Some(thread_handler);
                task.event.handler = Some(trim_done);
                task.event.log = cycle.log;
                TRIM.with(|t| t.set((task, false)));
            }
            cycle
        };
        let workers = NgxCoreModule::main_conf(cycle).map_or(1, |c| c.worker_processes.max(1));
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        AUTO_JOBS.with(|a| a.set(admission::auto_jobs(cpus, workers as usize)));
        metrics::init_worker();
        NGX_OK as ngx_int_t
    }

    /// [`init_worker`]'s threshold.
    #[cfg(target_env = "gnu")]
    const MMAP_THRESHOLD: i32 = 1 << 20;

    /// When the worker's last job is back and none waits: give the freed
    /// heap pages of every pool thread's arena back to the system
    /// (`malloc_trim`), so an idle worker returns to its idle size. It runs
    /// as a task of its own on the pool, after the reply is on its way:
    /// never on the event loop, never in a request's time.
    fn trim_when_idle(pool: Pool) {
        let (task, posted) = TRIM.with(Cell::get);
        if posted || task.is_null() {
            return;
        }
        // SAFETY: the worker's own trim task (init_worker), not posted now.
        let ok = unsafe { ngx_thread_task_post(pool, task) } == NGX_OK as isize;
        TRIM.with(|t| t.set((task, ok)));
    }

    unsafe extern "C" fn trim_done(_ev: *mut ngx_event_t) {
        TRIM.with(|t| t.set((t.get().0, false)));
    }

    /// At the response header: count `len` announced bytes against the
    /// queue's size bound, or say why not.
    pub(crate) fn hold(slot: &Slot, len: usize, limits: &Limits) -> Result<(), Shed> {
        sched(|s| s.hold(len, limits))?;
        slot.held.set(len);
        Ok(())
    }

    fn release(slot: &Slot) {
        let n = slot.held.take();
        if n > 0 {
            // try_with: a request pool freed at worker exit, after the TLS.
            let _ = SCHED.try_with(|s| {
                let mut s = s.borrow_mut();
                s.release(n);
                metrics::publish(s.queued(), s.running(), s.held());
            });
        }
    }

    /// The body is complete: run it now, queue it, or give it back shed.
    /// On `Ok` the request is blocked until the job's outcome reaches
    /// `on_done`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn post(
        r: &mut Request,
        s: &Slot,
        pool: Pool,
        limits: &Limits,
        body: Bytes,
        settings: Settings,
        faults: ThreadFaults,
        on_done: OnDone,
    ) -> Result<(), Shed> {
        let jobs = set_limits(limits);
        if s.task.get().is_null() && !make_task(r, s) {
            release(s);
            return Err(Shed::PoolFull);
        }
        s.r.set(r.into());
        s.pool.set(pool);
        s.on_done.set(Some(on_done));
        // A body read without Content-Length is held now that it is whole.
        let len = body.len();
        sched(|sc| sc.rehold(s.held.get(), len));
        s.held.set(len);

        let job = Box::new(Job {
            body,
            settings,
            faults,
            cancel: Arc::new(AtomicBool::new(false)),
            done: None,
        });
        let me: *const Slot = s;
        match sched(|sc| sc.admit(jobs, limits, len)) {
            Admit::Run => match start(s, job) {
                Ok(()) => release(s),
                // The pool's own queue is full (its max_queue): wait at the
                // head of ours for a job of ours to end, if one runs.
                Err(job) if SCHED.with(|sc| sc.borrow().running()) > 1 => {
                    let id = sched(|sc| sc.requeue(me));
                    queue(s, id, job, limits);
                }
                Err(_job) => {
                    sched(|sc| sc.finished());
                    release(s);
                    return Err(Shed::PoolFull);
                }
            },
            Admit::Queue => {
                let id = sched(|sc| sc.push(me));
                queue(s, id, job, limits);
            }
            Admit::Shed(why) => {
                release(s);
                return Err(why);
            }
        }
        hold_writes(r);
        Ok(())
    }

    /// The slot's task and its request cleanup, once per request.
    fn make_task(r: &mut Request, s: &Slot) -> bool {
        let rp: *mut ngx_http_request_t = r.into();
        let pool = r.as_ref().pool;
        let log = r.log();
        let data = s as *const Slot as *mut c_void;
        // SAFETY: a zero-size task and a request cleanup, both from this
        // live request (checked); they outlive their use because the
        // request stays blocked while the task is posted, and the cleanup
        // runs before the pool (and the slot in it) is freed.
        unsafe {
            let (Some(task), Some(cln)) = (
                ngx_thread_task_alloc(pool, 0).as_mut(),
                ngx_http_cleanup_add(rp, 0).as_mut(),
            ) else {
                return false;
            };
            cln.handler = Some(cleanup);
            cln.data = data;
            // ngx_thread_task_alloc zeroes the event; its timer's expiry
            // logs through ev->log (ngx_thread_read sets it too).
            task.event.log = log;
            task.event.data = data;
            task.event.handler = Some(event_handler);
            s.task.set(task);
        }
        true
    }

    /// Arms (`Some`) or disarms the slot's task timer: the queue's deadline
    /// or the running job's 60 s alert.
    fn timer(s: &Slot, ms: Option<usize>) {
        // SAFETY: the slot's task (make_task) lives in the request pool as
        // long as the slot; its event is touched only on the event loop.
        unsafe {
            let ev: *mut ngx_event_t = &mut (*s.task.get()).event;
            if (*ev).timer_set() != 0 {
                ngx_del_timer(ev);
            }
            if let Some(ms) = ms {
                ngx_add_timer(ev, ms as _);
            }
        }
    }

    fn queue(s: &Slot, id: u64, job: Box<Job>, limits: &Limits) {
        *s.state.borrow_mut() = SlotState::Queued { id, job };
        timer(s, Some(limits.timeout_ms as usize));
    }

    /// Posts the job; on failure (the pool's own queue is full) gives it back.
    fn start(s: &Slot, job: Box<Job>) -> Result<(), Box<Job>> {
        let cancel = job.cancel.clone();
        let raw = Box::into_raw(job);
        let task = s.task.get();
        // SAFETY: the task is ours and not posted; the Job is reclaimed
        // exactly once, in event_handler() or right below. Posted, the pool holds
        // the task (request-pool memory), so the request must not be freed
        // until it is back, whatever happens to it meanwhile: its main
        // request is blocked, as ngx_http_copy_thread_handler does (at most
        // one job per request, so the 8-bit counter cannot wrap from ours).
        unsafe {
            (*task).ctx = raw.cast();
            (*task).handler = Some(thread_handler);
            if ngx_thread_task_post(s.pool.get(), task) != NGX_OK as isize {
                (*task).ctx = ptr::null_mut();
                return Err(Box::from_raw(raw));
            }
            let main = &mut *(*s.r.get()).main;
            main.set_blocked(main.blocked() + 1);
        }
        timer(s, Some(TIMER_MS));
        *s.state.borrow_mut() = SlotState::Posted { cancel };
        Ok(())
    }

    /// Starts waiting jobs while slots are free.
    fn pump() {
        while let Some((_, slot)) = sched(|sc| sc.next(jobs())) {
            // SAFETY: a queued slot's request is alive: a request that ends
            // takes its slot out of the queue first (cleanup, Drop).
            let s = unsafe { &*slot };
            let job = match core::mem::replace(&mut *s.state.borrow_mut(), SlotState::Idle) {
                SlotState::Queued { job, .. } => job,
                _ => continue,
            };
            // start() turns the deadline timer into the running job's.
            match start(s, job) {
                Ok(()) => release(s),
                Err(job) if SCHED.with(|sc| sc.borrow().running()) > 1 => {
                    // The pool is full for now: first in line again, under
                    // the same deadline (its timer still runs).
                    let id = sched(|sc| sc.requeue(slot));
                    *s.state.borrow_mut() = SlotState::Queued { id, job };
                    return;
                }
                Err(job) => {
                    sched(|sc| sc.finished());
                    release(s);
                    drop(job);
                    finish(s, Finished::shed(Shed::PoolFull));
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

    /// On a pool thread: a Job (never nginx memory, not even `log`), or,
    /// for the worker's trim task (no ctx), `malloc_trim`.
    unsafe extern "C" fn thread_handler(data: *mut c_void, _log: *mut ngx_log_t) {
        let nice = !NICED.with(|n| n.replace(true));
        // SAFETY: data is null (the trim task) or the Job start() leaked; the
        // event loop does not touch it until the task's event handler runs,
        // after this returns. Once per pool thread, its own priority is
        // lowered (on Linux, setpriority(PRIO_PROCESS, 0) applies to the
        // calling thread only); malloc_trim is glibc's own, thread-safe.
        let job = unsafe {
            #[cfg(target_os = "linux")]
            if nice {
                let now = libc::getpriority(libc::PRIO_PROCESS, 0);
                libc::setpriority(libc::PRIO_PROCESS, 0, (now + POOL_NICE).min(19));
            }
            match (data as *mut Job).as_mut() {
                Some(job) => job,
                None => {
                    #[cfg(target_env = "gnu")]
                    libc::malloc_trim(0);
                    return;
                }
            }
        };
        let _ = nice;
        job.done = Some(run_job(&job.body, &job.settings, job.faults, &job.cancel));
    }

    /// On the event loop: the task is back from the pool, or its timer
    /// fired (the queue's deadline, or the running job's 60 s alert).
    unsafe extern "C" fn event_handler(ev: *mut ngx_event_t) {
        // SAFETY: ev is the event of a task of ours (make_task); its data is
        // the slot, whose request stayed alive (blocked or queued) since; the
        // request becomes the log's current one, as
        // ngx_http_set_log_request() does. A task that is back (not a timer)
        // gives back the Job start() leaked, and unblocks the main request
        // start() blocked.
        let (ev, s, back) = unsafe {
            let ev = &mut *ev;
            let s = &*(ev.data as *const Slot);
            let r = s.r.get();
            let lctx = (*(*(*r).connection).log).data as *mut ngx_http_log_ctx_t;
            if let Some(lctx) = lctx.as_mut() {
                lctx.current_request = r;
            }
            let posted = matches!(*s.state.borrow(), SlotState::Posted { .. });
            let back = if posted && ev.timedout() == 0 {
                let task = s.task.get();
                let job = Box::from_raw((*task).ctx as *mut Job);
                (*task).ctx = ptr::null_mut();
                let main = &mut *(*r).main;
                main.set_blocked(main.blocked() - 1);
                Some(job)
            } else {
                None
            };
            (ev, s, back)
        };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| on_event(ev, s, back)));
    }

    fn on_event(ev: &mut ngx_event_t, s: &Slot, back: Option<Box<Job>>) {
        let timedout = ev.timedout() != 0;
        ev.set_timedout(0);
        if let Some(mut job) = back {
            *s.state.borrow_mut() = SlotState::Idle;
            timer(s, None);
            sched(|sc| sc.finished());
            // The next job starts before this reply is sent.
            pump();
            if SCHED.with(|sc| {
                let sc = sc.borrow();
                sc.running() == 0 && sc.queued() == 0
            }) {
                trim_when_idle(s.pool.get());
            }
            let done = job.done.take().unwrap_or(Finished {
                result: Err(Failure::Panic),
                elapsed_us: 0,
                stages: Default::default(),
            });
            drop(job);
            return finish(s, done);
        }
        let state = core::mem::replace(&mut *s.state.borrow_mut(), SlotState::Idle);
        match state {
            SlotState::Queued { id, job } if timedout => {
                sched(|sc| sc.remove(id));
                release(s);
                drop(job);
                finish(s, Finished::shed(Shed::Timeout));
            }
            SlotState::Posted { .. } if timedout => {
                *s.state.borrow_mut() = state;
                ngx::ngx_log_error!(
                    NGX_LOG_WARN,
                    ev.log,
                    "image_resize_rs: image processing takes more than {} s",
                    TIMER_MS / 1000
                );
                timer(s, Some(TIMER_MS));
            }
            other => *s.state.borrow_mut() = other,
        }
    }

    /// The job's outcome is known: hand it to the owner, then resume the
    /// request as the copy filter does.
    fn finish(s: &Slot, done: Finished) {
        timer(s, None);
        let rp = s.r.get();
        let r = s.request();
        // Other jobs of this connection may still wait: its writes are let
        // through for this reply and held back again after it.
        let held_back = release_writes(r);
        if let Some(on_done) = s.on_done.get() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| on_done(r, done)));
        }
        let key = r.connection() as usize;
        let wev = write_event(r);
        if is_http2(r) {
            // HTTP/2: make sure processing reaches the main connection.
            wev.set_ready(1);
            wev.set_active(0);
        }
        let c = r.connection();
        let gone = r.as_ref().done() != 0;
        let write = r.as_ref().write_event_handler;
        // SAFETY: what ngx_http_copy_thread_event_handler does: a finalized or
        // terminated request is left to the handler nginx has set on its
        // live connection's write event, a live one to its own write handler
        // (the request may be freed by either: only the connection, which
        // other waiting jobs keep open, is used after).
        unsafe {
            if gone || (*c).error() != 0 {
                if let Some(h) = wev.handler {
                    h(wev);
                }
            } else {
                if let Some(h) = write {
                    h(rp);
                }
                ngx_http_run_posted_requests(c);
            }
        }
        if held_back {
            delay_writes(key, wev);
        }
    }

    /// `ngx_http_terminate_request` (client gone, send timeout, error) or
    /// the end of the request: a queued job is dropped with its body, a
    /// running one is told to stop at its next stage.
    unsafe extern "C" fn cleanup(data: *mut c_void) {
        // SAFETY: data is the slot make_task() registered; the request pool
        // (and the Ctx with the slot in it) is still there.
        let s = unsafe { &*(data as *const Slot) };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let state = core::mem::replace(&mut *s.state.borrow_mut(), SlotState::Idle);
            match state {
                SlotState::Idle => {}
                SlotState::Posted { cancel } => {
                    cancel.store(true, Ordering::Relaxed);
                    *s.state.borrow_mut() = SlotState::Posted { cancel };
                }
                SlotState::Queued { id, job } => {
                    sched(|sc| sc.remove(id));
                    drop(job); // and its handle on the body
                    release(s);
                    timer(s, None);
                    // nginx goes on terminating the request once nothing
                    // blocks it: nothing to resume.
                    let _ = release_writes(s.request());
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
    fn hold_writes(r: &mut Request) {
        r.as_mut().set_aio(1);
        let key = r.connection() as usize;
        DELAYED.with(|d| d.borrow_mut().entry(key).or_insert((0, false)).0 += 1);
        delay_writes(key, write_event(r));
    }

    /// Undoes [`hold_writes`]. The connection's writes are let through (if
    /// we held them back); returns whether other jobs of the connection
    /// still wait, so that the caller holds them back again after this reply.
    fn release_writes(r: &mut Request) -> bool {
        r.as_mut().set_aio(0);
        let key = r.connection() as usize;
        let wev = write_event(r);
        DELAYED.with(|d| {
            let mut d = d.borrow_mut();
            let Some(e) = d.get_mut(&key) else {
                return false;
            };
            e.0 -= 1;
            if e.1 {
                wev.set_delayed(0);
                e.1 = false;
            }
            if e.0 == 0 {
                d.remove(&key);
                return false;
            }
            true
        })
    }

    /// Holds back the writes of connection `key` (its write event `wev`)
    /// while jobs of it wait (see [`hold_writes`]), unless something else
    /// delays them already.
    fn delay_writes(key: usize, wev: &mut ngx_event_t) {
        DELAYED.with(|d| {
            let mut d = d.borrow_mut();
            let Some(e) = d.get_mut(&key) else {
                return;
            };
            if !e.1 && wev.delayed() == 0 {
                wev.set_delayed(1);
                e.1 = true;
                if wev.timer_set() != 0 {
                    // SAFETY: the connection's live write event; its
                    // send_timeout timer leaves nginx's timer tree.
                    unsafe { ngx_del_timer(wev) };
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
pub(crate) fn hold(_s: &Slot, _len: usize, _l: &crate::admission::Limits) -> Result<(), Shed> {
    Ok(())
}

#[cfg(not(ngx_feature = "threads"))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn post(
    _r: &mut Request,
    _slot: &Slot,
    _pool: Pool,
    _limits: &crate::admission::Limits,
    _body: Bytes,
    _settings: Settings,
    _faults: ThreadFaults,
    _on_done: OnDone,
) -> Result<(), Shed> {
    Err(Shed::PoolFull)
}

#[cfg(not(ngx_feature = "threads"))]
pub(crate) fn saturated(_l: &crate::admission::Limits) -> Option<Shed> {
    None
}

#[cfg(not(ngx_feature = "threads"))]
pub(crate) unsafe extern "C" fn init_process(
    _cycle: *mut ngx::ffi::ngx_cycle_t,
) -> ngx::ffi::ngx_int_t {
    super::metrics::init_worker();
    ngx::ffi::NGX_OK as ngx::ffi::ngx_int_t
}
