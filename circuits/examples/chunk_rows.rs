//! Prints the rows a chunk of transfers uses per slot count (halo2's `CircuitCost`).
use circuits::chunk::ChunkCircuit;
use halo2_proofs::dev::CircuitCost;

fn main() {
    for slots in [1usize, 2, 5, 10] {
        let cost =
            CircuitCost::<pasta_curves::vesta::Point, _>::measure(16, &ChunkCircuit::blank(slots));
        let text = format!("{cost:?}");
        let rows = text
            .split("max_rows: ")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        println!("{slots} slots: {rows} rows");
    }
}
