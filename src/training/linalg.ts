/**
 * The little dense linear algebra the trainers need: solving a small symmetric positive-definite
 * system (a Newton step) by Cholesky factorisation. Written here rather than pulling in a matrix
 * library because it is twenty lines and the systems are at most a few hundred columns.
 */

/** Thrown when a matrix that should be positive definite is not (numerically). */
export class NotPositiveDefiniteError extends Error {
  override name = "NotPositiveDefiniteError";
}

/**
 * Solves `A x = b` for symmetric positive-definite `A` (row-major, `size × size`; only its lower
 * triangle is read). Returns `x`; `A` and `b` are left untouched.
 */
export function choleskySolve(a: Float64Array, b: Float64Array, size: number): Float64Array {
  if (a.length !== size * size || b.length !== size) throw new RangeError("choleskySolve: dimension mismatch");
  const l = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * size + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * size + k]! * l[j * size + k]!;
      if (i === j) {
        if (!(sum > 0)) throw new NotPositiveDefiniteError(`pivot ${i} is ${sum}`);
        l[i * size + i] = Math.sqrt(sum);
      } else {
        l[i * size + j] = sum / l[j * size + j]!;
      }
    }
  }
  // forward substitution L y = b, then back substitution Lᵀ x = y
  const x = Float64Array.from(b);
  for (let i = 0; i < size; i++) {
    let sum = x[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * size + k]! * x[k]!;
    x[i] = sum / l[i * size + i]!;
  }
  for (let i = size - 1; i >= 0; i--) {
    let sum = x[i]!;
    for (let k = i + 1; k < size; k++) sum -= l[k * size + i]! * x[k]!;
    x[i] = sum / l[i * size + i]!;
  }
  return x;
}
