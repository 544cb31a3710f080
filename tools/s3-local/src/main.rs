//! `s3-local HOST PORT ROOT`: serves the folders under ROOT as S3 buckets
//! (s3s-fs), checking SigV4 against AWS_ACCESS_KEY_ID and
//! AWS_SECRET_ACCESS_KEY from the environment. Unlike `s3s-fs --secret-key`,
//! the secret never appears in the process's command line.

use std::env;
use std::process::ExitCode;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use s3s_fs::FileSystem;
use tokio::net::TcpListener;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let [host, port, root] = args.as_slice() else {
        eprintln!("usage: s3-local HOST PORT ROOT  (credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)");
        return ExitCode::from(2);
    };
    let (Ok(id), Ok(secret)) = (
        env::var("AWS_ACCESS_KEY_ID"),
        env::var("AWS_SECRET_ACCESS_KEY"),
    ) else {
        eprintln!("s3-local: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set");
        return ExitCode::from(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("s3-local: bad port");
        return ExitCode::from(2);
    };
    // Nothing below needs the environment copy any more.
    env::remove_var("AWS_SECRET_ACCESS_KEY");
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    match rt.block_on(serve(host, port, root, id, secret)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("s3-local: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(
    host: &str,
    port: u16,
    root: &str,
    id: String,
    secret: String,
) -> Result<(), Box<dyn std::error::Error>> {
    let fs = FileSystem::new(root).map_err(|e| format!("{root}: {e:?}"))?;
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(id, secret));
    let service = builder.build();
    let listener = TcpListener::bind((host, port)).await?;
    eprintln!(
        "s3-local: serving {root} on http://{}",
        listener.local_addr()?
    );
    let http = Builder::new(TokioExecutor::new());
    let mut stop = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let socket = tokio::select! {
            res = listener.accept() => match res {
                Ok((socket, _)) => socket,
                Err(e) => {
                    eprintln!("s3-local: accept: {e}");
                    continue;
                }
            },
            _ = stop.as_mut() => return Ok(()),
        };
        let conn = http
            .serve_connection(TokioIo::new(socket), service.clone())
            .into_owned();
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}
