//! The clients under test, each a function from a [`Job`] to a [`Sample`].

pub mod asynch;
pub mod bare;
pub mod bare_tokio;
pub mod blocking;

use crate::measure::Sample;
use crate::scenario::{BoxError, ClientKind, Job};

/// Runs `job` in this process: one sample, or one per transfer.
pub fn run(job: &Job) -> Result<Vec<Sample>, BoxError> {
    match job.client {
        ClientKind::Bare => bare::run(job),
        ClientKind::BareTokio => bare_tokio::run(job),
        ClientKind::DuetBlocking => blocking::run_duet(job),
        ClientKind::Ureq => blocking::run_ureq(job),
        ClientKind::DuetAsync => asynch::run_duet(job),
        ClientKind::Reqwest => asynch::run_reqwest(job),
        ClientKind::Hyper => asynch::run_hyper(job),
    }
}
