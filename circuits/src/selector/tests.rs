//! [`simplify`] against the expression it rewrites: the same value at random points, never
//! more nodes, and the rewrites it is for.

use ff::Field;
use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector};
use proptest::prelude::*;

use super::simplify;
use crate::hash::Fp;

/// Three leaves to build expressions over (selectors: the one query a test can make
/// without a gate).
fn leaves() -> [Selector; 3] {
    let mut meta = ConstraintSystem::<Fp>::default();
    [
        meta.complex_selector(),
        meta.complex_selector(),
        meta.complex_selector(),
    ]
}

fn value(e: &Expression<Fp>, leaves: &[Selector; 3], at: &[Fp; 3]) -> Fp {
    e.evaluate(
        &|c| c,
        &|s| at[leaves.iter().position(|l| *l == s).expect("a test leaf")],
        &|_| unreachable!("no fixed queries"),
        &|_| unreachable!("no advice queries"),
        &|_| unreachable!("no instance queries"),
        &|a| -a,
        &|a, b| a + b,
        &|a, b| a * b,
        &|a, c| a * c,
    )
}

fn nodes(e: &Expression<Fp>) -> usize {
    match e {
        Expression::Negated(a) | Expression::Scaled(a, _) => 1 + nodes(a),
        Expression::Sum(a, b) | Expression::Product(a, b) => 1 + nodes(a) + nodes(b),
        _ => 1,
    }
}

/// The constants a gate writes most (0, 1, −1, 2) and any other.
fn constant() -> impl Strategy<Value = Fp> {
    prop_oneof![
        Just(Fp::ZERO),
        Just(Fp::ONE),
        Just(-Fp::ONE),
        Just(Fp::from(2)),
        any::<u64>().prop_map(Fp::from),
    ]
}

fn expression() -> impl Strategy<Value = Expression<Fp>> {
    let leaf = prop_oneof![
        (0..3usize).prop_map(|i| Expression::Selector(leaves()[i])),
        constant().prop_map(Expression::Constant),
    ];
    leaf.prop_recursive(6, 64, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|a| -a),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a + b),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a - b),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a * b),
            (inner, constant()).prop_map(|(a, c)| a * c),
        ]
    })
}

proptest! {
    #[test]
    fn simplify_keeps_the_polynomial_in_no_more_nodes(
        e in expression(),
        at in any::<[u64; 3]>(),
    ) {
        let leaves = leaves();
        let at = at.map(Fp::from);
        let s = simplify(e.clone());
        prop_assert_eq!(value(&s, &leaves, &at), value(&e, &leaves, &at));
        prop_assert!(nodes(&s) <= nodes(&e), "{:?} -> {:?}", e, s);
    }
}

#[test]
fn constants_products_and_scalings_fold() {
    let [a, b, c] = leaves().map(Expression::Selector);
    let one = || Expression::Constant(Fp::ONE);
    // A fold from zero keeps no zero; a sum's constants become one.
    let e = Expression::Constant(Fp::ZERO) + a.clone() + (one() - b.clone()) + (one() - c.clone());
    let s = simplify(e);
    assert_eq!(nodes(&s), 9, "{s:?}");
    assert!(
        matches!(s, Expression::Sum(_, ref k) if matches!(**k, Expression::Constant(v) if v == Fp::from(2)))
    );
    // A product by a constant is a scaling; a negated scaling one scaling.
    let s = simplify(-(a.clone() * Expression::Constant(Fp::from(3))));
    assert!(
        matches!(s, Expression::Scaled(_, v) if v == -Fp::from(3)),
        "{s:?}"
    );
    assert_eq!(nodes(&s), 2);
    // A scaling by one and a product by one vanish.
    assert_eq!(nodes(&simplify(a.clone() * Fp::ONE * one())), 1);
    // Nothing to fold: the same tree.
    let e = a.clone() * b.clone() + c;
    assert_eq!(nodes(&simplify(e.clone())), nodes(&e));
}
