use circuits::chunk::{witness, ChunkCircuit, Instance};
use circuits::demo::City;
use circuits::Fp;
use halo2_proofs::dev::MockProver;

fn show(name: &str, w: witness::ChunkWitness, inst: Instance) {
    let p = MockProver::run(13, &ChunkCircuit::new(w), vec![inst.to_halo2()]).unwrap();
    match p.verify() {
        Ok(()) => println!("{name}: OK"),
        Err(es) => { println!("{name}: {} failures", es.len()); for e in es.iter().take(4) { println!("   {e}"); } }
    }
}

#[test]
fn probe() {
    let mut c = City::new(4);
    let tx = c.transfer(c.resident(0), c.resident(1), 250);
    let mut state = c.state.clone();
    let (w, inst) = witness::build(&mut state, &[tx], 1_767_230_000, 2).unwrap();
    show("honest", w.clone(), inst);
    let mut t = w.clone(); t.slots[0].encoding[2] += Fp::one(); show("nonce", t, inst);
    let mut t = w.clone(); t.slots[0].encoding[4] = Fp::from(10_001); show("overdraft", t, inst);
    let mut t = w.clone(); t.slots[0].from.path.siblings[5] += Fp::one(); show("sibling", t, inst);
    let i2 = Instance::new(inst.root_old(), inst.root_new() + Fp::one(), inst.data_hash()); show("root_new", w.clone(), i2);
    let i3 = Instance::new(inst.root_old(), inst.root_new(), inst.data_hash() + Fp::one()); show("data", w.clone(), i3);
}
