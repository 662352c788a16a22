//! Checking halo2 proofs on every core: many proofs of one circuit in one multi-scalar
//! multiplication, and the work before it on threads of its own.
//!
//! halo2 0.4.1's `BatchVerifier` and `SingleVerifier` run each proof's check on the
//! caller's rayon pool, and there its `best_multiexp` shifts every window of a
//! multiplication separately (`c·i` doublings for window `i`, about `c·W²/2` in all instead
//! of the serial path's 255). For the large multiplications of key generation that is a few
//! per cent; for each proof's instance commitment, a multiplication of a few dozen terms
//! with `c = 3`, it is about 10,000 doublings, more than the rest of that proof's check: on
//! the demo's chain (142 one-slot chunk proofs) two threads were no faster than one. Here
//! each thread checks its share of the proofs inside a rayon pool of one thread, so every
//! small multiplication takes the serial path; each proof's multiplication is scaled by a
//! random factor of its own once (`BatchVerifier` rescales the whole accumulated sum at
//! every proof, which grows with the batch), and the sum is evaluated once, on the
//! caller's pool, where a multiplication that large gains from the threads.
//!
//! What is checked is exactly halo2's: each proof through `plonk::verify_proof`, the
//! commitment scheme's final check deferred into one sum of the proofs' multiplications,
//! each under an independent uniformly random factor (a sum with any wrong term vanishes
//! with probability at most 1/p).

use halo2_proofs::plonk::{self, Error, VerificationStrategy, VerifyingKey};
use halo2_proofs::poly::commitment::{Guard, Params, MSM};
use halo2_proofs::transcript::{Blake2bRead, Challenge255, EncodedChallenge};
use pasta_curves::vesta;

use crate::Fp;

/// A proof with the instance column it claims.
pub type Claim<'proof> = (Vec<Fp>, &'proof [u8]);

/// A proof of several instances of one circuit (halo2 proves them together: one
/// quotient commitment and one opening for all) with each instance's column, in the
/// order they were proven.
pub type GroupClaim<'proof> = (Vec<Vec<Fp>>, &'proof [u8]);

/// Runs `f` inside a rayon pool of one thread made for it (any multiplication in it takes
/// halo2's serial path); if the pool cannot be made, `f` runs on the caller's pool.
pub fn on_one_thread<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    match rayon::ThreadPoolBuilder::new().num_threads(1).build() {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}

/// The strategy that hands back a proof's deferred multiplication unevaluated.
struct Deferred<'params> {
    msm: MSM<'params, vesta::Affine>,
}

impl<'params> VerificationStrategy<'params, vesta::Affine> for Deferred<'params> {
    type Output = MSM<'params, vesta::Affine>;

    fn process<E: EncodedChallenge<vesta::Affine>>(
        self,
        f: impl FnOnce(MSM<'params, vesta::Affine>) -> Result<Guard<'params, vesta::Affine, E>, Error>,
    ) -> Result<Self::Output, Error> {
        Ok(f(self.msm)?.use_challenges())
    }
}

/// One proof's checks up to its deferred multiplication (unevaluated), or halo2's error.
fn deferred<'params>(
    params: &'params Params<vesta::Affine>,
    vk: &VerifyingKey<vesta::Affine>,
    instances: &[Vec<Fp>],
    proof: &[u8],
) -> Result<MSM<'params, vesta::Affine>, Error> {
    let mut transcript = Blake2bRead::<_, vesta::Affine, Challenge255<_>>::init(proof);
    let strategy = Deferred {
        msm: params.empty_msm(),
    };
    let columns: Vec<[&[Fp]; 1]> = instances.iter().map(|c| [&c[..]]).collect();
    let circuits: Vec<&[&[Fp]]> = columns.iter().map(|c| &c[..]).collect();
    plonk::verify_proof(params, vk, strategy, &circuits, &mut transcript)
}

/// Verifies one proof of a circuit with one instance column: its checks on a pool of one
/// thread, its multiplication (most of the time for one proof) on the caller's pool.
pub fn verify_one(
    params: &Params<vesta::Affine>,
    vk: &VerifyingKey<vesta::Affine>,
    instance: &[Fp],
    proof: &[u8],
) -> Result<(), Error> {
    verify_group(params, vk, &[instance.to_vec()], proof)
}

/// Verifies one proof of several instances of a circuit, each with its one instance column
/// in the order they were proven (as [`verify_one`] for one).
pub fn verify_group(
    params: &Params<vesta::Affine>,
    vk: &VerifyingKey<vesta::Affine>,
    instances: &[Vec<Fp>],
    proof: &[u8],
) -> Result<(), Error> {
    if on_one_thread(|| deferred(params, vk, instances, proof))?.eval() {
        Ok(())
    } else {
        Err(Error::ConstraintSystemFailure)
    }
}

/// Whether every proof holds (each with its one instance column): true for none. False
/// says only that some proof does not; the caller checks them one by one to name it.
pub fn verify_many(
    params: &Params<vesta::Affine>,
    vk: &VerifyingKey<vesta::Affine>,
    proofs: &[Claim<'_>],
) -> bool {
    let groups: Vec<GroupClaim<'_>> = proofs
        .iter()
        .map(|(instance, proof)| (vec![instance.clone()], *proof))
        .collect();
    verify_groups(params, vk, &groups)
}

/// [`verify_many`] for proofs of several instances each ([`verify_group`]).
pub fn verify_groups(
    params: &Params<vesta::Affine>,
    vk: &VerifyingKey<vesta::Affine>,
    proofs: &[GroupClaim<'_>],
) -> bool {
    if proofs.is_empty() {
        return true;
    }
    let threads = rayon::current_num_threads().clamp(1, proofs.len());
    let share = proofs.len().div_ceil(threads);
    let parts: Option<Vec<MSM<'_, vesta::Affine>>> = std::thread::scope(|scope| {
        let running: Vec<_> = proofs
            .chunks(share)
            .map(|part| {
                scope.spawn(move || {
                    on_one_thread(|| {
                        let mut rng = rand::rng();
                        let mut sum = params.empty_msm();
                        for (instances, proof) in part {
                            let mut msm = deferred(params, vk, instances, proof).ok()?;
                            msm.scale(<Fp as ff::Field>::random(&mut rng));
                            sum.add_msm(&msm);
                        }
                        Some(sum)
                    })
                })
            })
            .collect();
        running
            .into_iter()
            .map(|t| t.join().expect("checking a proof does not panic"))
            .collect()
    });
    let Some(parts) = parts else {
        return false;
    };
    let mut sum = params.empty_msm();
    for part in &parts {
        sum.add_msm(part);
    }
    sum.eval()
}
