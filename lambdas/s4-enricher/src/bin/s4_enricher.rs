//! The S/4 enricher Lambda: thin S/4HANA events made whole from S/4's OData APIs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    s4_enricher::run().await
}
