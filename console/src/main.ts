import "./styles.css";
import "./app.ts";
