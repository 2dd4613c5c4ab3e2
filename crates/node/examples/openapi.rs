//! Prints the REST API's OpenAPI document (what `GET /openapi.json` serves), for validators
//! and client generators: `cargo run -p custodia-node --example openapi > openapi.json`.

fn main() {
    let document = custodia_node::api::openapi_document();
    match serde_json::to_string_pretty(&document) {
        Ok(text) => println!("{text}"),
        Err(err) => {
            eprintln!("error: cannot render the OpenAPI document: {err}");
            std::process::exit(1);
        }
    }
}
