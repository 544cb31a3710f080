//! Request-time evaluation of the location's settings, done once per
//! request (the filter keeps it in its context).

use ngx::http::Request;

use super::conf::LocConf;
use crate::negotiate::Token;
use crate::pipeline::Settings;

/// What this request's configuration says, variables evaluated.
#[derive(Clone, Copy)]
pub(crate) struct Evaluated {
    pub settings: Settings,
    /// The output-format token (`$image_resize_rs_format`); `None` for an
    /// unusable `image_resize_rs_output` value.
    pub token: Option<Token>,
    /// The format depends on `Accept` (`Vary: Accept`).
    pub varies: bool,
}

pub(crate) fn evaluate(conf: &LocConf, r: &Request) -> Evaluated {
    let settings = conf.settings(r);
    Evaluated {
        token: settings.format,
        varies: conf.negotiates(),
        settings,
    }
}
