//! Asynchronous calls without an async runtime.
//!
//! The core is a blocking client and stays one. An `async` export runs its blocking call on a
//! thread of its own (named `b24cb-call`; one per call, ending when the call returns) and hands
//! uniffi a future that Kotlin's coroutines or Swift's tasks poll; nothing here needs tokio or
//! any other executor. The pauses between the polls of `waitForOutcome` are timers on one
//! thread shared by every wait of the process (`b24cb-timer`, started on first use), so a wait
//! that sleeps holds no thread of its own.
//!
//! Cancellation. Every call gets a core [`core::CancelToken`] of its own, cancelled when its
//! future is dropped before it finished (Kotlin drops it when the coroutine is cancelled) or
//! when the caller's [`CancelToken`] is cancelled (Swift's wrappers tie that to task
//! cancellation). A start still waiting for the rate limiter or a back-off then ends at once
//! with nothing sent. A request already on the wire is not torn down: its thread completes it
//! in the background (bounded by the client's deadline) and the answer is discarded.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use callback_core as core;

use crate::error::{CallbackError, guarded};

/// The name of the thread that runs one blocking call.
pub(crate) const CALL_THREAD: &str = "b24cb-call";
/// The name of the one timer thread.
pub(crate) const TIMER_THREAD: &str = "b24cb-timer";

/// How long a call whose token was cancelled may take to notice it (the core looks at the token
/// every 10 ms while it waits) before its future gives up on it.
const GRACE: Duration = Duration::from_millis(200);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a call does, for the text of its cancellation error.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `voximplant.callback.start`: a call in flight may have been placed.
    Start,
    /// Everything else: reads, and checks without traffic.
    Read,
}

fn no_thread() -> CallbackError {
    core::Error::new(
        core::ErrorCode::Transport,
        "could not start a thread for the call; nothing was sent",
    )
    .into()
}

fn cancelled_before() -> CallbackError {
    core::Error::new(
        core::ErrorCode::RateLimited,
        "cancelled before it started; nothing was sent",
    )
    .into()
}

fn cancelled_in_flight(kind: Kind) -> CallbackError {
    let text = match kind {
        Kind::Start => {
            "cancelled while the request was in flight: it completes in the background and its \
             answer is discarded, so the portal may have started the call; check callRecord or \
             repeat it with the same idempotency key"
        }
        Kind::Read => {
            "cancelled while the request was in flight: it completes in the background and its \
             answer is discarded"
        }
    };
    core::Error::new(core::ErrorCode::OutcomeUnknown, text).into()
}

fn cancelled_while_waiting() -> CallbackError {
    core::Error::new(
        core::ErrorCode::RateLimited,
        "cancelled while waiting for the next poll; no request was in flight",
    )
    .into()
}

/// Cancels the call's token when the call's future goes away (finished or dropped).
struct CancelOnDrop(core::CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Runs `job` (handed the call's own core token) on a thread of its own and waits for it
/// without blocking the caller; see the module docs for cancellation.
pub(crate) async fn offload<T: Send + 'static>(
    cancel: Option<Arc<CancelToken>>,
    kind: Kind,
    job: impl FnOnce(&core::CancelToken) -> Result<T, CallbackError> + Send + 'static,
) -> Result<T, CallbackError> {
    let token = core::CancelToken::new();
    let _on_drop = CancelOnDrop(token.clone());
    if cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
        return Err(cancelled_before());
    }
    let mut work = Blocking::new({
        let token = token.clone();
        move || job(&token)
    });
    let Some(cancel) = cancel else {
        return work.await;
    };
    match race(&mut work, &mut cancel.cancelled()).await {
        Either::Left(result) => result,
        Either::Right(()) => {
            token.cancel();
            match race(&mut work, &mut Sleep::new(GRACE)).await {
                Either::Left(result) => result,
                Either::Right(_) => Err(cancelled_in_flight(kind)),
            }
        }
    }
}

/// `waitForOutcome` without holding a thread: one `callRecord` request at a time on its own
/// thread, and timers in between.
///
/// The schedule and the errors polled on are those of the core's blocking
/// `Client::wait_for_outcome`: the first poll at once, then after 0.5 s, backing off by half
/// each time to one every 5 s; `RateLimited`, `Transport` and `OutcomeUnknown` (reading is
/// harmless) are polled on, any other error ends the wait.
pub(crate) async fn wait_for_outcome<T: Send + 'static>(
    cancel: Option<Arc<CancelToken>>,
    timeout: Duration,
    poll: impl Fn() -> Result<Option<T>, CallbackError> + Send + Sync + 'static,
) -> Result<Option<T>, CallbackError> {
    let until = Instant::now().checked_add(timeout);
    let poll = Arc::new(poll);
    let mut interval = Duration::from_millis(500);
    loop {
        let once = poll.clone();
        match offload(cancel.clone(), Kind::Read, move |_| once()).await {
            Ok(Some(record)) => return Ok(Some(record)),
            Ok(None) => {}
            Err(e) if cancel.as_ref().is_some_and(|c| c.is_cancelled()) => return Err(e),
            Err(e)
                if matches!(
                    e.code(),
                    crate::ErrorCode::RateLimited
                        | crate::ErrorCode::Transport
                        | crate::ErrorCode::OutcomeUnknown
                ) => {}
            Err(e) => return Err(e),
        }
        let left = match until {
            Some(until) => until.saturating_duration_since(Instant::now()),
            None => Duration::MAX,
        };
        if left.is_zero() {
            return Ok(None);
        }
        let mut nap = Sleep::new(interval.min(left));
        match &cancel {
            None => nap.await?,
            Some(c) => match race(&mut nap, &mut c.cancelled()).await {
                Either::Left(slept) => slept?,
                Either::Right(()) => return Err(cancelled_while_waiting()),
            },
        }
        interval = interval.mul_f64(1.5).min(Duration::from_secs(5));
    }
}

pub(crate) enum Either<A, B> {
    Left(A),
    Right(B),
}

/// Polls both futures; the first one ready wins (the other is left as it is).
pub(crate) async fn race<A, B>(a: &mut A, b: &mut B) -> Either<A::Output, B::Output>
where
    A: Future + Unpin,
    B: Future + Unpin,
{
    poll_fn(|cx| {
        if let Poll::Ready(x) = Pin::new(&mut *a).poll(cx) {
            return Poll::Ready(Either::Left(x));
        }
        if let Poll::Ready(y) = Pin::new(&mut *b).poll(cx) {
            return Poll::Ready(Either::Right(y));
        }
        Poll::Pending
    })
    .await
}

type Job<T> = Box<dyn FnOnce() -> Result<T, CallbackError> + Send>;

struct Slot<T> {
    result: Option<Result<T, CallbackError>>,
    waker: Option<Waker>,
}

/// A blocking job on a thread of its own, started on the first poll.
pub(crate) struct Blocking<T> {
    job: Option<Job<T>>,
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T: Send + 'static> Blocking<T> {
    pub(crate) fn new(job: impl FnOnce() -> Result<T, CallbackError> + Send + 'static) -> Self {
        Blocking {
            job: Some(Box::new(job)),
            slot: Arc::new(Mutex::new(Slot {
                result: None,
                waker: None,
            })),
        }
    }
}

impl<T: Send + 'static> Future for Blocking<T> {
    type Output = Result<T, CallbackError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        {
            let mut slot = lock(&self.slot);
            if let Some(result) = slot.result.take() {
                return Poll::Ready(result);
            }
            match &slot.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => slot.waker = Some(cx.waker().clone()),
            }
        }
        if let Some(job) = self.job.take() {
            let slot = self.slot.clone();
            let spawned = std::thread::Builder::new()
                .name(CALL_THREAD.into())
                .spawn(move || {
                    // The one panic guard: a panic in the core becomes `OutcomeUnknown`.
                    let result = guarded(job);
                    let waker = {
                        let mut slot = lock(&slot);
                        slot.result = Some(result);
                        slot.waker.take()
                    };
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                });
            if spawned.is_err() {
                return Poll::Ready(Err(no_thread()));
            }
        }
        Poll::Pending
    }
}

/// Resolves when the token is cancelled.
pub(crate) struct Cancelled<'a> {
    token: &'a CancelToken,
    id: Option<u64>,
}

impl<'a> Cancelled<'a> {
    pub(crate) fn new(token: &'a CancelToken) -> Self {
        Cancelled { token, id: None }
    }
}

impl Future for Cancelled<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.token.is_cancelled() {
            return Poll::Ready(());
        }
        let token = self.token;
        token.register(&mut self.id, cx.waker());
        // `cancel` sets the flag before it wakes the registered wakers: look again.
        if token.is_cancelled() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Cancelled<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.token.unregister(id);
        }
    }
}

/// The wakers waiting for one [`CancelToken`].
#[derive(Default)]
pub(crate) struct Wakers {
    next: u64,
    waiting: HashMap<u64, Waker>,
}

impl Wakers {
    pub(crate) fn register(&mut self, id: &mut Option<u64>, waker: &Waker) {
        let key = *id.get_or_insert_with(|| {
            self.next += 1;
            self.next
        });
        match self.waiting.get(&key) {
            Some(w) if w.will_wake(waker) => {}
            _ => {
                self.waiting.insert(key, waker.clone());
            }
        }
    }

    pub(crate) fn unregister(&mut self, id: u64) {
        self.waiting.remove(&id);
    }

    pub(crate) fn take_all(&mut self) -> Vec<Waker> {
        self.waiting.drain().map(|(_, w)| w).collect()
    }
}

/// A pause on the shared timer thread.
pub(crate) struct Sleep {
    at: Instant,
    id: Option<u64>,
}

impl Sleep {
    pub(crate) fn new(d: Duration) -> Sleep {
        let now = Instant::now();
        Sleep {
            at: now
                .checked_add(d)
                .unwrap_or(now + Duration::from_secs(86_400 * 365)),
            id: None,
        }
    }
}

impl Future for Sleep {
    type Output = Result<(), CallbackError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if Instant::now() >= self.at {
            return Poll::Ready(Ok(()));
        }
        let Some(timer) = Timer::get() else {
            return Poll::Ready(Err(no_thread()));
        };
        let at = self.at;
        timer.register(&mut self.id, at, cx.waker());
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let (Some(id), Some(timer)) = (self.id, TIMER.get().and_then(Option::as_ref)) {
            timer.unregister(id);
        }
    }
}

struct TimerState {
    next: u64,
    due: BinaryHeap<Reverse<(Instant, u64)>>,
    waiting: HashMap<u64, Waker>,
}

/// One thread that wakes every [`Sleep`] of the process when its time has come.
struct Timer {
    state: Mutex<TimerState>,
    changed: Condvar,
}

static TIMER: OnceLock<Option<Arc<Timer>>> = OnceLock::new();

impl Timer {
    /// The timer, its thread started on first use (`None` when no thread could be started).
    fn get() -> Option<&'static Arc<Timer>> {
        TIMER
            .get_or_init(|| {
                let timer = Arc::new(Timer {
                    state: Mutex::new(TimerState {
                        next: 0,
                        due: BinaryHeap::new(),
                        waiting: HashMap::new(),
                    }),
                    changed: Condvar::new(),
                });
                let runner = timer.clone();
                std::thread::Builder::new()
                    .name(TIMER_THREAD.into())
                    .spawn(move || runner.run())
                    .ok()
                    .map(|_| timer)
            })
            .as_ref()
    }

    fn register(&self, id: &mut Option<u64>, at: Instant, waker: &Waker) {
        let mut st = lock(&self.state);
        if let Some(key) = *id
            && let Some(w) = st.waiting.get_mut(&key)
        {
            if !w.will_wake(waker) {
                *w = waker.clone();
            }
            return;
        }
        st.next += 1;
        let key = st.next;
        *id = Some(key);
        st.due.push(Reverse((at, key)));
        st.waiting.insert(key, waker.clone());
        drop(st);
        self.changed.notify_one();
    }

    fn unregister(&self, id: u64) {
        // The heap entry goes when it comes up.
        lock(&self.state).waiting.remove(&id);
    }

    fn run(&self) {
        let mut st = lock(&self.state);
        loop {
            let now = Instant::now();
            let mut ready = Vec::new();
            while let Some(&Reverse((at, key))) = st.due.peek() {
                if !st.waiting.contains_key(&key) {
                    st.due.pop();
                } else if at <= now {
                    st.due.pop();
                    ready.extend(st.waiting.remove(&key));
                } else {
                    break;
                }
            }
            if !ready.is_empty() {
                drop(st);
                for waker in ready {
                    waker.wake();
                }
                st = lock(&self.state);
                continue;
            }
            st = match st.due.peek() {
                Some(&Reverse((at, _))) => {
                    self.changed
                        .wait_timeout(st, at.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .changed
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }
}

/// Cancels the calls it is given (the blocking `startCallbackBlocking`, and in Swift the
/// `...(cancel:)` forms of the async methods).
///
/// A start still waiting for the rate limiter or a back-off then fails with `RateLimited`,
/// nothing sent. A request already on the wire is not torn down: a blocking call waits for it,
/// an async one returns at once (`OutcomeUnknown`: the request completes in the background and
/// its answer is discarded). One token may serve several calls; cancelling is final.
///
/// Kotlin needs no token for its `suspend` methods (cancelling the coroutine cancels the call),
/// nor Swift for the plain async methods (cancelling the `Task` does).
#[derive(Default, uniffi::Object)]
pub struct CancelToken {
    pub(crate) inner: core::CancelToken,
    wakers: Mutex<Wakers>,
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

#[uniffi::export]
impl CancelToken {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(CancelToken::default())
    }

    pub fn cancel(&self) {
        self.inner.cancel();
        let waiting = self
            .wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take_all();
        for waker in waiting {
            waker.wake();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

impl CancelToken {
    /// A future that resolves when the token is cancelled.
    pub(crate) fn cancelled(&self) -> Cancelled<'_> {
        Cancelled::new(self)
    }

    pub(crate) fn register(&self, id: &mut Option<u64>, waker: &std::task::Waker) {
        self.wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .register(id, waker);
    }

    pub(crate) fn unregister(&self, id: u64) {
        self.wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .unregister(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// A minimal executor: polls on this thread, parks between wake-ups.
    pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    }

    #[test]
    fn sleeps_share_one_timer_and_end_in_order() {
        let started = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for ms in [120u64, 40, 80] {
            let order = order.clone();
            handles.push(std::thread::spawn(move || {
                block_on(Sleep::new(Duration::from_millis(ms))).unwrap();
                lock(&order).push(ms);
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(*lock(&order), [40, 80, 120]);
        assert!(started.elapsed() >= Duration::from_millis(120));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_dropped_sleep_leaves_the_timer() {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut nap = Sleep::new(Duration::from_secs(3600));
        assert!(Pin::new(&mut nap).poll(&mut cx).is_pending());
        let id = nap.id.unwrap();
        let timer = Timer::get().unwrap();
        assert!(lock(&timer.state).waiting.contains_key(&id));
        drop(nap);
        assert!(!lock(&timer.state).waiting.contains_key(&id));
    }

    #[test]
    fn a_blocking_job_runs_on_its_own_thread_and_panics_are_caught() {
        let here = std::thread::current().id();
        let there = block_on(Blocking::new(move || Ok(std::thread::current().id()))).unwrap();
        assert_ne!(here, there);
        let err = block_on(Blocking::<()>::new(|| panic!("boom"))).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::OutcomeUnknown);
    }

    #[test]
    fn a_cancelled_token_ends_the_wait_and_the_job_sees_its_own_token_cancelled() {
        let cancel = CancelToken::new();
        let seen = Arc::new(AtomicUsize::new(0));
        let c = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            c.cancel();
        });
        let s = seen.clone();
        let started = Instant::now();
        let err = block_on(offload(Some(cancel), Kind::Start, move |token| {
            while !token.is_cancelled() {
                std::thread::sleep(Duration::from_millis(5));
            }
            s.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(core::Error::new(core::ErrorCode::RateLimited, "cancelled").into())
        }))
        .unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::RateLimited);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_job_that_ignores_its_token_is_given_up_after_the_grace() {
        let cancel = CancelToken::new();
        cancel.cancel();
        // Cancelled before it started: nothing runs.
        let err = block_on(offload(Some(cancel), Kind::Start, |_| Ok(()))).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::RateLimited);

        let cancel = CancelToken::new();
        let c = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            c.cancel();
        });
        let err = block_on(offload(Some(cancel), Kind::Start, |_| {
            std::thread::sleep(Duration::from_secs(2));
            Ok(())
        }))
        .unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::OutcomeUnknown);
        assert!(err.details().description.contains("in flight"));
    }

    #[test]
    fn dropping_the_future_cancels_the_calls_token() {
        let (tx, rx) = std::sync::mpsc::channel();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut call = Box::pin(offload(None, Kind::Start, move |token| {
            let token = token.clone();
            while !token.is_cancelled() {
                std::thread::sleep(Duration::from_millis(5));
            }
            tx.send(()).unwrap();
            Ok(())
        }));
        assert!(call.as_mut().poll(&mut cx).is_pending());
        drop(call);
        rx.recv_timeout(Duration::from_secs(2))
            .expect("the job saw its token cancelled");
    }
}
