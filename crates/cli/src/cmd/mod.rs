//! One module per `custodia` subcommand: each owns its clap `Args` and a `run` function.

pub mod devnet;
pub mod genesis;
pub mod init;
pub mod node;
