"""Part 09: the sample size, and what the training loss does not tell.

The student splits a pool of samples into a training and an independent test set and writes
the evaluation on both; the notebook trains the network of part 03 on training sets from 10 to
500 samples at fixed batch size, step size and number of steps. A slider over the sample size
shows the fit and both errors: as the sample shrinks, the training loss falls while the test
error rises. The written answer questions the loss as a measure of final performance.
``python -m course.build`` writes it.
"""

from .cells import code, given, markdown, solution, tests, written_answer

NOTEBOOK = "source/09_sample_size/09_sample_size.ipynb"


def cells():
    # fmt: off  (each cell reads as its text, then what it is)
    return [
        markdown(r"""
            # Part 09 — The sample size

            Part 03 trained on 200 samples. What if there are fewer? Keep everything else
            fixed: the network, the batch size, the step size and the number of steps, and
            shrink the sample. Does the loss go up, as less information would suggest?

            To see what is going on we need a second measurement: the error on samples the
            network has **not** been trained on, a *test set*.

            1. You split a pool of samples into a training set and a test set (Exercise 1),
            2. and write the evaluation on both (Exercise 2).
            3. We train on training sets from 10 to 500 samples, and a slider shows each fit.

            *How this notebook is graded.* Write your code where it says `YOUR CODE HERE` (and
            delete the `raise NotImplementedError()`). The cell after each answer tests it;
            when your notebook is graded, more tests (hidden here) run in those cells. Run the
            notebook top to bottom (*Kernel → Restart Kernel and Run All Cells*) before you
            submit. The slider redraws results computed ahead of time, so moving it is quick.
        """),
        given(
            """
            import matplotlib.pyplot as plt
            import numpy as np
            from tqdm.auto import tqdm

            import autodiff_lib as ad
            from autodiff_lib.data import teacher_student
            from autodiff_lib.networks import init_mlp, mlp
            from autodiff_lib.plotting import plot_fit, plot_growth, slider
            from autodiff_lib.training import loss, train

            np.set_printoptions(precision=4, suppress=True)
        """,
            "setup",
        ),
        markdown(r"""
            A pool of 1000 noisy samples of the teacher of part 03 (the same teacher and noise
            level $0.1$, so the loss of the true weights is about $0.1^2 = 0.01$).
        """),
        given(
            """
            SIZES = [1, 8, 8, 1]
            pool = teacher_student(SIZES, n_samples=1000, noise=0.1, seed=2)
            noise_floor = pool.noise ** 2  # the expected loss of the true weights
            print("pool:", pool.x.shape, pool.y.shape)
        """,
            "pool",
            check_output=True,
        ),
        markdown(r"""
            ## A test set

            The test set must be **independent** of the training: samples the training never
            sees, drawn from the same source. From one pool, a random split does it: shuffle
            the sample indices, put the first `n_test` in the test set and the rest in the
            training set. (Taking, say, the last rows instead would be safe only if the rows
            were in random order; shuffling makes sure.)

            ### Exercise 1 ({points}): the split

            Write `split(x, y, n_test, rng)`, which returns
            `(x_train, y_train, x_test, y_test)`: with `order = rng.permutation(len(x))`, the
            test set holds the samples `order[:n_test]` and the training set the others,
            `order[n_test:]`, each in that order.
        """),
        solution(
            """
            def split(x, y, n_test, rng):
                \"\"\"Randomly split into (x_train, y_train, x_test, y_test), n_test to test.\"\"\"
                ### BEGIN SOLUTION
                shuffled = rng.permutation(len(x))
                held_out, kept = shuffled[:n_test], shuffled[n_test:]
                return x[kept], y[kept], x[held_out], y[held_out]
                ### END SOLUTION
        """,
            "split",
        ),
        tests(
            """
            # Ten samples, three for testing; hidden tests: the order, other sizes.
            x_ten, y_ten = np.arange(10.0).reshape(-1, 1), 10 * np.arange(10.0).reshape(-1, 1)
            parts = split(x_ten, y_ten, 3, np.random.default_rng(0))
            assert len(parts) == 4, "return x_train, y_train, x_test, y_test"
            assert [len(p) for p in parts] == [7, 7, 3, 3], "3 test samples and 7 training samples"
            assert sorted(np.concatenate([parts[0], parts[2]]).ravel()) == list(range(10)), \\
                "every sample goes to exactly one of the two sets"
            assert np.array_equal(parts[1], 10 * parts[0]), "the targets must follow their inputs"
            ### BEGIN HIDDEN TESTS
            import numpy as np

            inputs = np.random.default_rng(91).normal(size=(40, 2))
            targets = inputs[:, :1] * 3.0 - inputs[:, 1:]
            for n_held, seed in [(10, 92), (1, 93), (39, 94)]:
                reference_order = np.random.default_rng(seed).permutation(40)
                got = split(inputs, targets, n_held, np.random.default_rng(seed))
                assert np.array_equal(got[2], inputs[reference_order[:n_held]]) and \\
                    np.array_equal(got[0], inputs[reference_order[n_held:]]), \\
                    f"{n_held} of 40 for testing: test = order[:n_test], training = " \\
                    "order[n_test:], with order = rng.permutation(len(x))"
                assert np.array_equal(got[3], targets[reference_order[:n_held]]) and \\
                    np.array_equal(got[1], targets[reference_order[n_held:]]), \\
                    "the targets must be split like the inputs"
            ### END HIDDEN TESTS
        """,
            "test_split",
            points=2,
        ),
        markdown(r"""
            Half the pool for testing, half for training. The training sets of the experiment
            are the first $n$ samples of `x_train`: each smaller set is part of every larger
            one, and the test set is the same for all.
        """),
        given(
            """
            def held_out_split():
                \"\"\"The split of this experiment: 500 of the pool for testing (seed 0).\"\"\"
                return split(pool.x, pool.y, 500, np.random.default_rng(0))


            x_train, y_train, x_test, y_test = held_out_split()
            print("training:", x_train.shape, " test:", x_test.shape)
        """,
            "sets",
            check_output=True,
        ),
        markdown(r"""
            ### Exercise 2 ({points}): the evaluation

            Write `evaluate(params, x_train, y_train, x_test, y_test)`, which returns the pair
            `(training loss, test loss)`: the mean squared error of the network with weights
            `params` (`loss(params, x, y)`) on each set, as two floats.
        """),
        solution(
            """
            def evaluate(params, x_train, y_train, x_test, y_test):
                \"\"\"(loss on the training set, loss on the test set), as floats.\"\"\"
                ### BEGIN SOLUTION
                on_train = float(loss(params, x_train, y_train))
                on_test = float(loss(params, x_test, y_test))
                return on_train, on_test
                ### END SOLUTION
        """,
            "evaluate",
        ),
        tests(
            """
            # The true weights on two halves of the pool; hidden tests: other weights and sets.
            halves = pool.x[:500], pool.y[:500], pool.x[500:], pool.y[500:]
            both = evaluate(pool.true_params, *halves)
            assert len(both) == 2 and all(isinstance(v, float) for v in both), \\
                "return two floats: (training loss, test loss)"
            assert abs(both[0] - noise_floor) < 0.002 and abs(both[1] - noise_floor) < 0.002, \\
                "the true weights must have a loss close to the noise level 0.01 on both sets"
            ### BEGIN HIDDEN TESTS
            import numpy as np

            from autodiff_lib.networks import init_mlp, mlp

            guess = init_mlp(SIZES, seed=95)
            first, second = pool.x[:37], pool.x[900:911]
            got = evaluate(guess, first, pool.y[:37], second, pool.y[900:911])
            wanted = (np.mean((mlp(guess, first) - pool.y[:37]) ** 2),
                      np.mean((mlp(guess, second) - pool.y[900:911]) ** 2))
            assert np.allclose(got, wanted), \\
                "wrong losses: the first is on (x_train, y_train), the second on (x_test, y_test)"
            ### END HIDDEN TESTS
        """,
            "test_evaluate",
            points=1,
        ),
        markdown(r"""
            ## Shrinking the sample

            For each sample size $n$, train the network of part 03 from the same initial
            weights (seed 0) on the first $n$ training samples: **1000 steps**, batches of
            **10** samples, step size **0.1**, whatever $n$ (a new random order of the samples
            each epoch: `autodiff_lib.training.train`). Then evaluate on the training set and
            on the test set. Seven runs, a few seconds in two parts; the slider below only
            draws them.
        """),
        given(
            """
            def learning_curve(sample_sizes):
                \"\"\"Train on the first n training samples for each n; returns {n: (weights,
                training loss, test loss)}.\"\"\"
                x_train, y_train, x_test, y_test = held_out_split()
                results = {}
                for n in tqdm(sample_sizes, desc="sample sizes"):
                    run = train(init_mlp(SIZES, seed=0), x_train[:n], y_train[:n], step_size=0.1,
                                steps=1000, batch_size=10, record_every=1000)
                    results[n] = (run.params, *evaluate(run.params, x_train[:n], y_train[:n],
                                                        x_test, y_test))
                return results
        """,
            "learning_curve",
        ),
        code(
            """
            curve = learning_curve([10, 20, 40, 80])
        """,
            ignore_output=True,
        ),
        markdown(r"""
            The rest, then a table and a slider for the sample size. Left: the training
            samples, the teacher and what the network learned from them. Right: both losses
            against the sample size, and the noise level, the loss of the true function.
        """),
        code(
            """
            larger = learning_curve([160, 320, 500])
            curve.update(larger)
            SAMPLE_SIZES = sorted(curve)
            train_losses = np.array([curve[n][1] for n in SAMPLE_SIZES])
            test_losses = np.array([curve[n][2] for n in SAMPLE_SIZES])
            print(" samples   training loss   test loss")
            for n, on_train, on_test in zip(SAMPLE_SIZES, train_losses, test_losses):
                print(f"{n:8}   {on_train:13.4f}   {on_test:9.4f}")


            def draw_sample_size(n):
                params, on_train, on_test = curve[n]
                fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
                plot_fit(x_train[:n], y_train[:n],
                         {"teacher": pool.teacher, "network": lambda inputs: mlp(params, inputs)},
                         ax=left)
                left.set_xlim(-2.05, 2.05)
                left.set_ylim(-1.0, 2.0)
                left.set_title(f"{n} training samples")
                plot_growth(SAMPLE_SIZES, {"training loss": train_losses, "test loss": test_losses},
                            "number of training samples", "mean squared error", ax=right, logx=True)
                right.axhline(noise_floor, color="k", linestyle="--", linewidth=1,
                              label="noise level")
                right.plot([n, n], [on_train, on_test], "ro", label=f"n = {n}")
                right.legend(fontsize="small")
                right.set_title(f"training {on_train:.4f}, test {on_test:.4f}")


            slider(draw_sample_size, SAMPLE_SIZES, "training samples", value=20)
        """,
            ignore_output=True,
        ),
        markdown(r"""
            On 10 or 20 samples the network follows the samples, noise and all: its training
            loss ends well *below* the noise level, lower than on any larger set, and lower
            than the true function could do. Between the samples it goes its own way, and on
            the test set its error is far above the noise level. As the sample grows, the
            network can no longer follow every sample (97 weights, hundreds of samples): the
            training loss rises to the noise level, and the test loss falls toward it. In
            between, both wobble with the particular samples and the training run: each point
            is one run on one sample.

            ### Question ({points}, graded by hand)

            When the sample shrinks at fixed batch size, step size and number of steps, does
            the training loss go up? Explain what you observe, why, and whether it is what you
            expected. What is wrong with the training loss as a measure of how good the trained
            network is, and what should be measured instead? What must be true of a test set
            for its error to be trusted?
        """),
        written_answer(
            r"""
            No: the training loss goes *down* as the sample shrinks, to well below the noise
            level for 10 or 20 samples, while the error on the independent test set goes up.
            With fewer samples the same network (97 weights) has more freedom per sample: it
            can bend through the few points it sees, fitting their noise as well as the
            function, and gradient descent, which only ever sees the training samples, happily
            does so. That is overfitting. It is not intuitive if one reads the loss as "how
            well the network knows the function": fewer samples carry less information about
            the function, so a *better* loss must be misleading. With many samples the network
            cannot follow each one, the noise averages out, and the training loss rises to the
            noise level while the test loss falls toward it.

            The training loss measures how well the network fits the data it was fitted to: it
            is biased low, the more so the fewer the samples and the more flexible the model
            (part 08 showed it even below the truth). The performance that matters is the error
            on new data from the same source. Estimate it on an independent test set (or by
            cross-validation, which rotates the held-out part), and compare models by it, or by
            the gap between training and test error.

            A test set must be independent of everything that produced the model: drawn from
            the same distribution as the data the model will meet, never used for training,
            nor for choosing step sizes, architectures or when to stop (that needs a separate
            validation set), and large enough that its error is a precise estimate.
        """,
            "training_loss_misleads",
            points=2,
        ),
        markdown(r"""
            ## What the sample size shows

            * At fixed batch size, step size and number of steps, a smaller sample gives a
              *lower* training loss, below the noise level, and a *higher* test error: the
              network fits the noise of the few samples it sees.
            * The training loss measures the fit to the samples used for training, not how
              well the network has learned the function. An independent test set, never used
              in training, measures that.
        """),
    ]
    # fmt: on
