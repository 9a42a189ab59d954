<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" id="reportstyle">
  <!--
    Kallisti's report as a page. The document this sits in:
      report/report-title              the title
      report/root/list-item            one experiment each
        name, description, metadata, parameters, pre_steps, steps, post_steps
        trials/list-item               one trial each: id, status, executed_at,
                                       completed_at, initiated_by, metadata, ...
          trial_record/{result,pre_steps,steps,post_steps}/list-item
                                       step_name, step_parameters, logs/list-item
    Map keys that are not element names arrive as <entry key="...">.
    Text is only ever output escaped.
  -->
  <xsl:output method="html" encoding="utf-8" indent="no"/>

  <xsl:template match="/">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <title><xsl:value-of select="report/report-title"/></title>
        <style>
          body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
                 margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1f2328; }
          h1 { border-bottom: 2px solid #d0d7de; padding-bottom: .3rem; }
          h2 { margin-top: 2.5rem; border-bottom: 1px solid #d0d7de; }
          h3 { margin-top: 1.5rem; }
          a { color: #0969da; text-decoration: none; }
          .muted { color: #59636e; }
          .status { display: inline-block; padding: .05rem .5rem; border-radius: 1rem;
                    font-size: .8rem; font-weight: 600; text-transform: uppercase;
                    color: #fff; background: #6e7781; }
          .s-Succeeded { background: #1a7f37; }
          .s-Failed, .s-Invalid { background: #cf222e; }
          .s-Aborted { background: #bc4c00; }
          .s-In-Progress { background: #0969da; }
          .s-Stop-Initiated, .s-Stopped { background: #8250df; }
          table.kv { border-collapse: collapse; margin: .25rem 0; }
          table.kv th, table.kv td { text-align: left; vertical-align: top;
                                     padding: .1rem .6rem .1rem 0; }
          table.kv th { font-weight: 600; white-space: nowrap; }
          ol.plan li { margin: .3rem 0; }
          code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace;
                 background: #f6f8fa; padding: 0 .25rem; border-radius: 3px; }
          .trial { border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem 1rem;
                   margin: 1rem 0; }
          .step { margin: .75rem 0; }
          .step-header { font-weight: 600; }
          pre.logs { background: #f6f8fa; padding: .5rem; margin: .25rem 0;
                     white-space: pre-wrap; word-break: break-word; font-size: .85rem; }
        </style>
      </head>
      <body>
        <h1><xsl:value-of select="report/report-title"/></h1>
        <xsl:variable name="experiments" select="report/root/list-item"/>
        <p class="muted">
          <xsl:value-of select="count($experiments)"/> experiment(s),
          <xsl:value-of select="count($experiments/trials/list-item)"/> trial(s),
          <xsl:value-of select="count($experiments/trials/list-item/status[text() = 'Succeeded'])"/>
          succeeded.
        </p>
        <xsl:if test="count($experiments) = 0">
          <p>No experiments or trials match this report.</p>
        </xsl:if>
        <ul>
          <xsl:for-each select="$experiments">
            <li>
              <a href="#experiment-{id}"><strong><xsl:value-of select="name"/></strong></a>
              <xsl:if test="trials/list-item">
                <ul>
                  <xsl:for-each select="trials/list-item">
                    <li>
                      <a href="#trial-{id}">
                        <span class="status s-{translate(status, ' ', '-')}"><xsl:value-of select="status"/></span>
                        Trial <xsl:value-of select="id"/>
                      </a>
                    </li>
                  </xsl:for-each>
                </ul>
              </xsl:if>
            </li>
          </xsl:for-each>
        </ul>
        <xsl:apply-templates select="$experiments" mode="experiment"/>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="list-item" mode="experiment">
    <h2 id="experiment-{id}"><xsl:value-of select="name"/></h2>
    <p class="muted">Experiment <xsl:value-of select="id"/></p>
    <xsl:if test="normalize-space(description) != ''">
      <p><xsl:value-of select="description"/></p>
    </xsl:if>
    <xsl:if test="metadata/*">
      <h3>Metadata</h3>
      <table class="kv"><xsl:apply-templates select="metadata/*" mode="kv"/></table>
    </xsl:if>
    <xsl:if test="parameters/*">
      <h3>Parameters</h3>
      <table class="kv"><xsl:apply-templates select="parameters/*" mode="kv"/></table>
    </xsl:if>
    <xsl:call-template name="plan">
      <xsl:with-param name="title">Pre-steps</xsl:with-param>
      <xsl:with-param name="steps" select="pre_steps/list-item"/>
    </xsl:call-template>
    <xsl:call-template name="plan">
      <xsl:with-param name="title">Steps</xsl:with-param>
      <xsl:with-param name="steps" select="steps/list-item"/>
    </xsl:call-template>
    <xsl:call-template name="plan">
      <xsl:with-param name="title">Post-steps</xsl:with-param>
      <xsl:with-param name="steps" select="post_steps/list-item"/>
    </xsl:call-template>
    <h3>Trials</h3>
    <xsl:choose>
      <xsl:when test="trials/list-item">
        <p>
          Succeeded:
          <xsl:value-of select="count(trials/list-item/status[text() = 'Succeeded'])"/>
          of <xsl:value-of select="count(trials/list-item)"/>
        </p>
        <xsl:apply-templates select="trials/list-item" mode="trial"/>
      </xsl:when>
      <xsl:otherwise><p class="muted">No trials.</p></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="plan">
    <xsl:param name="title"/>
    <xsl:param name="steps"/>
    <h3><xsl:value-of select="$title"/></h3>
    <xsl:choose>
      <xsl:when test="$steps">
        <ol class="plan">
          <xsl:for-each select="$steps">
            <li>
              <strong>
                <xsl:choose>
                  <xsl:when test="normalize-space(step) != ''"><xsl:value-of select="step"/></xsl:when>
                  <xsl:otherwise><xsl:value-of select="do"/></xsl:otherwise>
                </xsl:choose>
              </strong>
              — <code><xsl:value-of select="do"/></code>
              <xsl:if test="where/*">
                <table class="kv"><xsl:apply-templates select="where/*" mode="kv"/></table>
              </xsl:if>
              <xsl:if test="expect/list-item">
                <div class="muted">Expect:
                  <xsl:for-each select="expect/list-item">
                    <code>
                      <xsl:for-each select="*">
                        <xsl:call-template name="key"/>=<xsl:value-of select="."/>
                        <xsl:if test="position() != last()"><xsl:text> </xsl:text></xsl:if>
                      </xsl:for-each>
                    </code>
                    <xsl:text> </xsl:text>
                  </xsl:for-each>
                </div>
              </xsl:if>
            </li>
          </xsl:for-each>
        </ol>
      </xsl:when>
      <xsl:otherwise><p class="muted">None defined.</p></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="list-item" mode="trial">
    <div class="trial" id="trial-{id}">
      <p>
        <span class="status s-{translate(status, ' ', '-')}"><xsl:value-of select="status"/></span>
        <strong> Trial <xsl:value-of select="id"/></strong>
      </p>
      <table class="kv">
        <tr><th>Status</th><td><xsl:value-of select="status"/></td></tr>
        <tr><th>Executed at</th><td><xsl:call-template name="time"><xsl:with-param name="value" select="executed_at"/></xsl:call-template></td></tr>
        <tr><th>Completed at</th><td><xsl:call-template name="time"><xsl:with-param name="value" select="completed_at"/></xsl:call-template></td></tr>
        <tr><th>Initiated by</th><td><xsl:value-of select="initiated_by"/>
          <xsl:if test="normalize-space(initiated_from) != ''"> (from <xsl:value-of select="initiated_from"/>)</xsl:if></td></tr>
        <xsl:if test="parameters/*">
          <tr><th>Parameters</th><td><table class="kv"><xsl:apply-templates select="parameters/*" mode="kv"/></table></td></tr>
        </xsl:if>
        <xsl:if test="metadata/*">
          <tr><th>Metadata</th><td><table class="kv"><xsl:apply-templates select="metadata/*" mode="kv"/></table></td></tr>
        </xsl:if>
        <xsl:if test="ticket/*">
          <tr><th>Ticket</th><td><table class="kv"><xsl:apply-templates select="ticket/*" mode="kv"/></table></td></tr>
        </xsl:if>
      </table>
      <xsl:if test="trial_record/result/list-item">
        <div class="step">
          <div class="step-header">Result</div>
          <pre class="logs"><xsl:for-each select="trial_record/result/list-item">
              <xsl:choose>
                <xsl:when test="logs"><xsl:apply-templates select="logs/list-item" mode="line"/></xsl:when>
                <xsl:otherwise><xsl:apply-templates select="." mode="line"/></xsl:otherwise>
              </xsl:choose>
            </xsl:for-each></pre>
        </div>
      </xsl:if>
      <xsl:apply-templates select="trial_record/pre_steps/list-item" mode="step">
        <xsl:with-param name="label">Pre step</xsl:with-param>
      </xsl:apply-templates>
      <xsl:apply-templates select="trial_record/steps/list-item" mode="step">
        <xsl:with-param name="label">Step</xsl:with-param>
      </xsl:apply-templates>
      <xsl:apply-templates select="trial_record/post_steps/list-item" mode="step">
        <xsl:with-param name="label">Post step</xsl:with-param>
      </xsl:apply-templates>
    </div>
  </xsl:template>

  <xsl:template match="list-item" mode="step">
    <xsl:param name="label"/>
    <div class="step">
      <div class="step-header">
        <xsl:value-of select="$label"/><xsl:text> </xsl:text><xsl:value-of select="position()"/>:
        <xsl:value-of select="step_name"/>
      </div>
      <xsl:if test="step_parameters/*">
        <table class="kv"><xsl:apply-templates select="step_parameters/*" mode="kv"/></table>
      </xsl:if>
      <pre class="logs"><xsl:apply-templates select="logs/list-item" mode="line"/></pre>
    </div>
  </xsl:template>

  <xsl:template match="*" mode="line">
    <xsl:value-of select="."/><xsl:text>&#10;</xsl:text>
  </xsl:template>

  <xsl:template match="*" mode="kv">
    <tr>
      <th><xsl:call-template name="key"/></th>
      <td><xsl:apply-templates select="." mode="value"/></td>
    </tr>
  </xsl:template>

  <xsl:template match="*" mode="value">
    <xsl:choose>
      <xsl:when test="list-item">
        <ul><xsl:for-each select="list-item"><li><xsl:apply-templates select="." mode="value"/></li></xsl:for-each></ul>
      </xsl:when>
      <xsl:when test="*">
        <table class="kv"><xsl:apply-templates select="*" mode="kv"/></table>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="."/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="key">
    <xsl:choose>
      <xsl:when test="@key"><xsl:value-of select="@key"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="name()"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="time">
    <xsl:param name="value"/>
    <xsl:choose>
      <xsl:when test="string-length($value) &gt;= 19">
        <xsl:value-of select="concat(substring($value, 1, 10), ' ', substring($value, 12, 8), ' UTC')"/>
      </xsl:when>
      <xsl:otherwise><span class="muted">not yet</span></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
