//! `latchkey db migrate`: the store's migrations, run on their own, for
//! operators who migrate before they roll out replicas. (`serve` migrates
//! at start too; running both is harmless.)

use clap::{Args, Subcommand};

use crate::store_args::StoreArgs;

#[derive(Args, Debug)]
pub struct DbArgs {
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Subcommand, Debug)]
enum DbCommand {
    /// Apply every migration the store has not had yet.
    Migrate(StoreArgs),
}

pub async fn run(args: DbArgs) -> anyhow::Result<()> {
    match args.command {
        DbCommand::Migrate(store) => {
            let (_, label) = store.open().await?;
            say!("{label}: migrations applied; the schema is current");
            Ok(())
        }
    }
}
