//! The selector of every gate this crate writes: a fixed column of its own (halo2's
//! "complex" selector), never one that key generation folds with others into a shared
//! column.
//!
//! Key generation compresses simple selectors: the selectors sharing a fixed column take the
//! values `1..=m` there, and each query of one becomes the product `f·Π(j − f)` over the
//! column's other values, as many factors as the degree bound (9 in the chunk circuits)
//! leaves beside the gate's own degree. `Constraints::with_selector` multiplies every
//! constraint of a gate by its selector, and halo2 0.4 evaluates each constraint's
//! expression tree node by node at every point of the extended domain, nothing shared: a
//! Poseidon row's ten constraints each paid seven multiplications for a selector that a
//! column of its own gives for one. Evaluating those expressions is the largest phase of a
//! chunk proof (the README's profile), and multiplications are what it spends.
//!
//! Measured (the `gate_cost` example; `prover prove --slots 18`, release, 2 threads, three
//! runs of each interleaved):
//! - rule gates (ten to thirty constraints each), at `c4fd80d`: gate nodes 7,519 → 5,499, a
//!   full accounts chunk 9% faster;
//! - the Poseidon, Merkle and base gates too, at `3e6e79b`: the accounts circuit's gate
//!   expressions 2,283 → 1,979 multiplications per point (−13%) and 6,093 → 5,333 nodes, a
//!   full accounts chunk (18 transfers, k = 15) 15.35 s → 14.49 s (medians, −5.6%), for nine
//!   more fixed columns: peak memory 1,277 → 1,451 MB at that size.
//!
//! The ECC gadgets' gates (`halo2_gadgets`) keep the simple selectors their chips make.
//!
//! Every gate of the crate's own hands its constraints to `create_gate` through [`gated`]:
//! each multiplied by the gate's selector and rewritten in fewer expression nodes
//! ([`simplify`]; the accounts circuit 2,280 → 2,222 nodes after key generation).

use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector};

use crate::hash::Fp;

/// A new selector in a fixed column of its own.
pub(crate) fn selector(meta: &mut ConstraintSystem<Fp>) -> Selector {
    meta.complex_selector()
}

/// A gate's constraints, each multiplied by its selector `q` and written with fewer nodes
/// ([`simplify`]): what every gate of this crate hands `create_gate`.
pub(crate) fn gated<S>(
    q: Expression<Fp>,
    constraints: impl IntoIterator<Item = (S, Expression<Fp>)>,
) -> Vec<(S, Expression<Fp>)> {
    constraints
        .into_iter()
        .map(|(name, e)| (name, q.clone() * simplify(e)))
        .collect()
}

/// The same polynomial in fewer expression nodes. halo2 0.4 evaluates a constraint node by
/// node over the whole extended domain, a vector pass for every node (a constant becomes a
/// vector of that constant, a negation a scaling by −1), nothing shared or folded. So here:
/// a product by a constant is a scaling, scalings and negations of scalings or constants
/// are folded into one, a sum's constant terms are added into one, and a zero term, a
/// scaling by one and a product by one are dropped. Nothing else changes: the result is
/// the same polynomial in the same queries.
pub(crate) fn simplify(e: Expression<Fp>) -> Expression<Fp> {
    match e {
        Expression::Negated(a) => scale(simplify(*a), -Fp::one()),
        Expression::Scaled(a, c) => scale(simplify(*a), c),
        Expression::Product(a, b) => product(simplify(*a), simplify(*b)),
        Expression::Sum(..) => {
            let mut terms = Vec::new();
            let mut constant = Fp::zero();
            sum_terms(e, &mut terms, &mut constant);
            let mut out = terms.into_iter().reduce(|a, b| a + b);
            if constant != Fp::zero() || out.is_none() {
                let c = Expression::Constant(constant);
                out = Some(match out {
                    Some(sum) => sum + c,
                    None => c,
                });
            }
            out.expect("a term or a constant")
        }
        leaf => leaf,
    }
}

/// The terms of a (nested) sum, simplified, its constants added into `constant`.
fn sum_terms(e: Expression<Fp>, terms: &mut Vec<Expression<Fp>>, constant: &mut Fp) {
    match e {
        Expression::Sum(a, b) => {
            sum_terms(*a, terms, constant);
            sum_terms(*b, terms, constant);
        }
        other => match simplify(other) {
            Expression::Constant(c) => *constant += c,
            Expression::Sum(a, b) => {
                // A simplified product or scaling that became a sum (a scaled sum stays a
                // scaling, so this is only a product by one of a sum).
                sum_terms(*a, terms, constant);
                sum_terms(*b, terms, constant);
            }
            term => terms.push(term),
        },
    }
}

fn scale(a: Expression<Fp>, c: Fp) -> Expression<Fp> {
    if c == Fp::one() {
        return a;
    }
    match a {
        Expression::Constant(d) => Expression::Constant(c * d),
        Expression::Scaled(x, d) => scale(*x, c * d),
        Expression::Negated(x) => scale(*x, -c),
        _ if c == Fp::zero() => Expression::Constant(Fp::zero()),
        a => Expression::Scaled(Box::new(a), c),
    }
}

fn product(a: Expression<Fp>, b: Expression<Fp>) -> Expression<Fp> {
    match (a, b) {
        (Expression::Constant(c), x) | (x, Expression::Constant(c)) => scale(x, c),
        (a, b) => Expression::Product(Box::new(a), Box::new(b)),
    }
}

#[cfg(test)]
mod tests;
