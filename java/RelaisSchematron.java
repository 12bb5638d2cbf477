/*
 * RelaisSchematron.java - the long-lived schematron worker of `relais validate --level full`.
 *
 * Reads requests on stdin, one per line: "<stylesheet path>\t<document path>". Compiles each XSLT 2.0
 * stylesheet once (Saxon-HE) and keeps it, runs it on the document and answers on stdout with
 * "OK <n>\n" followed by the n bytes of the SVRL report, "ERR <message>\n" when the transform failed on
 * that document, or "FAIL <message>\n" when the request itself is unusable (a stylesheet that does not
 * compile, a malformed request): the document could not be validated. Documents are parsed with DOCTYPEs refused
 * and no external entities. The worker ends at the end of its input.
 * Run: java -cp /usr/share/java/Saxon-HE.jar RelaisSchematron.java
 */
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import javax.xml.parsers.SAXParserFactory;
import javax.xml.transform.sax.SAXSource;
import javax.xml.transform.stream.StreamSource;
import net.sf.saxon.s9api.Processor;
import net.sf.saxon.s9api.SaxonApiException;
import net.sf.saxon.s9api.Serializer;
import net.sf.saxon.s9api.XsltCompiler;
import net.sf.saxon.s9api.XsltExecutable;
import net.sf.saxon.s9api.XsltTransformer;
import org.xml.sax.InputSource;
import org.xml.sax.XMLReader;

public final class RelaisSchematron {
	private final Processor processor = new Processor(false);
	private final Map<String, XsltExecutable> compiled = new HashMap<>();
	private final SAXParserFactory parsers = SAXParserFactory.newInstance();

	private RelaisSchematron() throws Exception {
		parsers.setNamespaceAware(true);
		parsers.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
		parsers.setFeature("http://xml.org/sax/features/external-general-entities", false);
		parsers.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
	}

	private XsltExecutable stylesheet(String path) throws SaxonApiException {
		XsltExecutable x = compiled.get(path);
		if (x == null) {
			XsltCompiler compiler = processor.newXsltCompiler();
			x = compiler.compile(new StreamSource(new File(path)));
			compiled.put(path, x);
		}
		return x;
	}

	private byte[] run(String xslt, String document) throws Exception {
		XsltTransformer t = stylesheet(xslt).load();
		XMLReader reader = parsers.newSAXParser().getXMLReader();
		InputSource input = new InputSource(new File(document).toURI().toString());
		t.setSource(new SAXSource(reader, input));
		ByteArrayOutputStream svrl = new ByteArrayOutputStream();
		Serializer out = processor.newSerializer(svrl);
		t.setDestination(out);
		t.transform();
		return svrl.toByteArray();
	}

	private static String oneLine(Throwable e) {
		String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
		m = m.replace('\n', ' ').replace('\r', ' ');
		return m.length() > 400 ? m.substring(0, 400) : m;
	}

	public static void main(String[] args) throws Exception {
		RelaisSchematron worker = new RelaisSchematron();
		BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
		OutputStream out = System.out;
		String line;
		while ((line = in.readLine()) != null) {
			int tab = line.indexOf('\t');
			byte[] answer;
			if (tab < 0) {
				answer = "FAIL request is not \"stylesheet<TAB>document\"\n".getBytes(StandardCharsets.UTF_8);
				out.write(answer);
			} else {
				String xslt = line.substring(0, tab);
				try {
					worker.stylesheet(xslt);
				} catch (Exception e) {
					out.write(("FAIL " + xslt + ": " + oneLine(e) + "\n").getBytes(StandardCharsets.UTF_8));
					out.flush();
					continue;
				}
				try {
					byte[] svrl = worker.run(xslt, line.substring(tab + 1));
					out.write(("OK " + svrl.length + "\n").getBytes(StandardCharsets.UTF_8));
					out.write(svrl);
				} catch (Exception e) {
					out.write(("ERR " + oneLine(e) + "\n").getBytes(StandardCharsets.UTF_8));
				}
			}
			out.flush();
		}
	}
}
