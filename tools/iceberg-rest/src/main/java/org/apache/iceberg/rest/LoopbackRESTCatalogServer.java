package org.apache.iceberg.rest;

import java.lang.reflect.Method;
import org.apache.iceberg.util.PropertyUtil;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.gzip.GzipHandler;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;

/**
 * Upstream's RESTCatalogServer (Iceberg 1.10.1, the apache/iceberg-rest-fixture image's main class)
 * with one change for tests: Jetty listens on 127.0.0.1 only, where upstream's `new Server(port)`
 * listens on every interface. Everything else is upstream's code: the backend catalog is built by
 * RESTCatalogServer's own private initializeBackendCatalog (CATALOG_* environment variables read by
 * RCKUtils, JdbcCatalog and SQLite by default, the catalog's FileIO), and the handler chain is the
 * one RESTCatalogServer.start builds (RESTServerCatalogAdapter, RESTCatalogServlet on /*, gzip),
 * on the port of the catalog property rest.port (CATALOG_REST_PORT; default 8181).
 */
public final class LoopbackRESTCatalogServer {
  private LoopbackRESTCatalogServer() {}

  public static void main(String[] args) throws Exception {
    Method init = RESTCatalogServer.class.getDeclaredMethod("initializeBackendCatalog");
    init.setAccessible(true);
    RESTCatalogServer.CatalogContext catalog =
        (RESTCatalogServer.CatalogContext) init.invoke(new RESTCatalogServer());

    // As RESTCatalogServer.start(true) does.
    ServletContextHandler context = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
    context.addServlet(
        new ServletHolder(new RESTCatalogServlet(new RESTServerCatalogAdapter(catalog))), "/*");
    context.insertHandler(new GzipHandler());

    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1"); // the only difference from upstream
    connector.setPort(
        PropertyUtil.propertyAsInt(
            catalog.configuration(),
            RESTCatalogServer.REST_PORT,
            RESTCatalogServer.REST_PORT_DEFAULT));
    connector.setReusePort(true);
    server.addConnector(connector);
    server.setHandler(context);
    server.start();
    System.err.println("Iceberg REST catalog listening on http://127.0.0.1:" + connector.getLocalPort() + "/");
    server.join();
  }
}
