//! Prints the payload tables of `sonar_core::model` as JSON: the input of scripts/gen-model.mjs
//! (`npm run gen:model`), which writes index.d.ts's payload interfaces and the dev hub's key table.

fn main() {
    let structs = sonar_core::model::schema();
    println!("{}", sonar_core::model::schema::to_json(&structs));
}
